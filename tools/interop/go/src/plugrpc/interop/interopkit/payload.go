// Package interopkit holds what the grpc-go interop client and server of plugrpc share:
// payloads of a given size, and a stats handler that records the size of every message on
// the wire and decoded, which is how a grpc-go 1.33 program tells whether a message
// travelled compressed (grpc-go 1.33 exposes no per-message compressed flag).
package interopkit

import (
	"fmt"

	pb "plugrpc/interop/grpc_testing"
)

// NewPayload returns a COMPRESSABLE payload of size zero bytes, the only payload type of
// the interop protos.
func NewPayload(size int) (*pb.Payload, error) {
	if size < 0 {
		return nil, fmt.Errorf("payload size %d is negative", size)
	}
	return &pb.Payload{Type: pb.PayloadType_COMPRESSABLE, Body: make([]byte, size)}, nil
}

// MustPayload is NewPayload for sizes fixed by the test cases, which are never negative.
func MustPayload(size int) *pb.Payload {
	p, err := NewPayload(size)
	if err != nil {
		panic(err)
	}
	return p
}

// CheckPayload reports how p differs from a COMPRESSABLE payload of size zero bytes, or
// returns nil when it does not.
func CheckPayload(p *pb.Payload, size int) error {
	if p == nil {
		return fmt.Errorf("no payload, want %d bytes", size)
	}
	if p.GetType() != pb.PayloadType_COMPRESSABLE {
		return fmt.Errorf("payload type %v, want COMPRESSABLE", p.GetType())
	}
	body := p.GetBody()
	if len(body) != size {
		return fmt.Errorf("payload body is %d bytes, want %d", len(body), size)
	}
	for i, b := range body {
		if b != 0 {
			return fmt.Errorf("payload body byte %d is %#x, want zero", i, b)
		}
	}
	return nil
}
