package interopkit

import (
	"context"
	"sync"

	"google.golang.org/grpc/stats"
)

// frameHeaderLen is the length of the gRPC message prefix: one flag byte and a four-byte
// big-endian length (PROTOCOL-HTTP2, "Length-Prefixed-Message"). grpc-go 1.33 counts it
// in stats.InPayload.WireLength and stats.OutPayload.WireLength.
const frameHeaderLen = 5

// Message is one message of a call as grpc-go's stats handler saw it.
type Message struct {
	// Length is the size of the serialized message, after decompression.
	Length int
	// WireLength is the size on the wire: the prefix plus the possibly compressed bytes.
	WireLength int
}

// Compressed reports whether the message travelled with the compressed flag set.
//
// grpc-go 1.33 keeps the flag byte to itself; what it does expose is the length of the
// bytes on the wire (compressed or not) and of the decoded message. They differ by
// exactly the prefix when, and only when, the bytes were not compressed, unless a
// compressor happened to produce output of exactly the input's length: gzip adds 18
// bytes of header and trailer to its deflate stream, so that needs input that deflate
// shrinks by exactly 18 bytes, which the interop payloads (runs of zeros, shrunk a
// thousandfold) never are.
func (m Message) Compressed() bool {
	return m.WireLength != m.Length+frameHeaderLen
}

// Record collects the messages of one call, in the order grpc-go handled them.
type Record struct {
	mu       sync.Mutex
	sent     []Message
	received []Message
}

// Sent returns a copy of the messages sent so far.
func (r *Record) Sent() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.sent...)
}

// Received returns a copy of the messages received so far.
func (r *Record) Received() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.received...)
}

// LastReceived returns the message received last, and false if none was.
func (r *Record) LastReceived() (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.received) == 0 {
		return Message{}, false
	}
	return r.received[len(r.received)-1], true
}

type recordKey struct{}

// WithRecord returns a context carrying a new Record, and the Record. A call made with
// that context (client) is recorded into it by StatsHandler.
func WithRecord(ctx context.Context) (context.Context, *Record) {
	r := &Record{}
	return context.WithValue(ctx, recordKey{}, r), r
}

// RecordFrom returns the Record carried by ctx, or nil.
func RecordFrom(ctx context.Context) *Record {
	r, _ := ctx.Value(recordKey{}).(*Record)
	return r
}

// StatsHandler is a grpc-go stats.Handler that feeds the Record found in the call's
// context. On a server (TagEveryCall true) it attaches a new Record to every call in
// TagRPC; grpc-go 1.33 derives the handler's context from the one TagRPC returns, so the
// handler finds it with RecordFrom. On a client only calls whose context already carries
// a Record are recorded, which keeps soak loops free of bookkeeping.
type StatsHandler struct {
	TagEveryCall bool
}

// TagRPC implements stats.Handler.
func (h StatsHandler) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	if h.TagEveryCall && RecordFrom(ctx) == nil {
		ctx, _ = WithRecord(ctx)
	}
	return ctx
}

// HandleRPC implements stats.Handler.
func (h StatsHandler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	r := RecordFrom(ctx)
	if r == nil {
		return
	}
	switch p := s.(type) {
	case *stats.InPayload:
		r.mu.Lock()
		r.received = append(r.received, Message{Length: p.Length, WireLength: p.WireLength})
		r.mu.Unlock()
	case *stats.OutPayload:
		r.mu.Lock()
		r.sent = append(r.sent, Message{Length: p.Length, WireLength: p.WireLength})
		r.mu.Unlock()
	}
}

// TagConn implements stats.Handler.
func (h StatsHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn implements stats.Handler.
func (h StatsHandler) HandleConn(context.Context, stats.ConnStats) {}
