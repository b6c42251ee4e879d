package main

// The compression cases. grpc-go 1.33 gives a client three levers and this file uses
// each for what it is: grpc.UseCompressor compresses every message of one call;
// grpc.PreparedMsg carries a message already framed (flag byte included) by the
// codec and compressor of the stream it was encoded with; and the stats handler
// (interopkit) shows the wire and decoded size of each message, from which the
// compressed flag follows.

import (
	"context"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"

	pb "plugrpc/interop/grpc_testing"
	"plugrpc/interop/interopkit"
)

// acceptGzip tells the server that this call may be answered with gzip.
//
// grpc-go 1.33 sends grpc-accept-encoding only on a call it compresses itself, and then
// lists only that call's compressor, although it can decompress every registered one. A
// server that honours grpc-accept-encoding (as it must: PROTOCOL-HTTP2, "Message-Accept-
// Encoding"; plugrpc does) would then never compress a response to an uncompressed
// request, so the server_compressed_* cases state what grpc-go can take (gzip,
// registered by the encoding/gzip import) in the header, which grpc-go passes on as
// metadata since it is not one it reserves.
func acceptGzip(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "grpc-accept-encoding", gzip.Name)
}

func clientCompressedUnary(ctx context.Context, e *env) error {
	// The probe: an uncompressed request that claims to be compressed must be refused,
	// which shows that the server checks (CompressedRequest feature).
	probe := largeRequest()
	probe.ExpectCompressed = &pb.BoolValue{Value: true}
	_, err := e.client.UnaryCall(ctx, probe)
	if err := wantCode(err, codes.InvalidArgument, "UnaryCall probe (uncompressed, expect_compressed=true)"); err != nil {
		return err
	}
	for _, compressed := range []bool{true, false} {
		what := fmt.Sprintf("UnaryCall (%s, expect_compressed=%v)", compressedWord(compressed), compressed)
		req := largeRequest()
		req.ExpectCompressed = &pb.BoolValue{Value: compressed}
		var opts []grpc.CallOption
		if compressed {
			opts = append(opts, grpc.UseCompressor(gzip.Name))
		}
		callCtx, rec := interopkit.WithRecord(ctx)
		resp, err := e.client.UnaryCall(callCtx, req, opts...)
		if err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		if err := interopkit.CheckPayload(resp.GetPayload(), largeResponseSize); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		// A check on ourselves: the request went out as the case says it must.
		if err := checkCompressed(rec.Sent(), []bool{compressed}, what+" request"); err != nil {
			return err
		}
	}
	return nil
}

func serverCompressedUnary(ctx context.Context, e *env) error {
	for _, compressed := range []bool{true, false} {
		what := fmt.Sprintf("UnaryCall (response_compressed=%v)", compressed)
		req := largeRequest()
		req.ResponseCompressed = &pb.BoolValue{Value: compressed}
		callCtx, rec := interopkit.WithRecord(acceptGzip(ctx))
		resp, err := e.client.UnaryCall(callCtx, req)
		if err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		if err := interopkit.CheckPayload(resp.GetPayload(), largeResponseSize); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		if err := checkCompressed(rec.Received(), []bool{compressed}, what+" response"); err != nil {
			return err
		}
	}
	return nil
}

func clientCompressedStreaming(ctx context.Context, e *env) error {
	// The probe: one uncompressed message that claims to be compressed.
	probe, err := e.client.StreamingInputCall(ctx)
	if err != nil {
		return fmt.Errorf("StreamingInputCall probe: %v", err)
	}
	// The second message of the real call must go out uncompressed on a stream that
	// compresses: grpc-go 1.33 has no per-message switch, but a PreparedMsg encoded with
	// the codec and compressor of an uncompressed stream of the same channel (this probe)
	// is framed uncompressed, and SendMsg sends a PreparedMsg as it is.
	var uncompressed grpc.PreparedMsg
	if err := uncompressed.Encode(probe, &pb.StreamingInputCallRequest{
		ExpectCompressed: &pb.BoolValue{Value: false},
		Payload:          interopkit.MustPayload(45904),
	}); err != nil {
		return fmt.Errorf("encoding the uncompressed message: %v", err)
	}
	if err := probe.Send(&pb.StreamingInputCallRequest{
		ExpectCompressed: &pb.BoolValue{Value: true},
		Payload:          interopkit.MustPayload(27182),
	}); err != nil && err != io.EOF {
		return fmt.Errorf("StreamingInputCall probe: send: %v", err)
	}
	_, err = probe.CloseAndRecv()
	if err := wantCode(err, codes.InvalidArgument, "StreamingInputCall probe (uncompressed, expect_compressed=true)"); err != nil {
		return err
	}

	callCtx, rec := interopkit.WithRecord(ctx)
	stream, err := e.client.StreamingInputCall(callCtx, grpc.UseCompressor(gzip.Name))
	if err != nil {
		return fmt.Errorf("StreamingInputCall: %v", err)
	}
	if err := stream.Send(&pb.StreamingInputCallRequest{
		ExpectCompressed: &pb.BoolValue{Value: true},
		Payload:          interopkit.MustPayload(27182),
	}); err != nil {
		return fmt.Errorf("StreamingInputCall: send the compressed message: %v", err)
	}
	if err := stream.SendMsg(&uncompressed); err != nil {
		return fmt.Errorf("StreamingInputCall: send the uncompressed message: %v", err)
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("StreamingInputCall: %v", err)
	}
	if got := resp.GetAggregatedPayloadSize(); got != 27182+45904 {
		return fmt.Errorf("StreamingInputCall: aggregated_payload_size %d, want %d", got, 27182+45904)
	}
	return checkCompressed(rec.Sent(), []bool{true, false}, "StreamingInputCall request")
}

func serverCompressedStreaming(ctx context.Context, e *env) error {
	sizes := []int{31415, 92653}
	flags := []bool{true, false}
	req := &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE}
	for i, size := range sizes {
		req.ResponseParameters = append(req.ResponseParameters, &pb.ResponseParameters{
			Size: int32(size), Compressed: &pb.BoolValue{Value: flags[i]},
		})
	}
	callCtx, rec := interopkit.WithRecord(acceptGzip(ctx))
	stream, err := e.client.StreamingOutputCall(callCtx, req)
	if err != nil {
		return fmt.Errorf("StreamingOutputCall: %v", err)
	}
	got, err := recvAll(stream, "StreamingOutputCall")
	if err != nil {
		return err
	}
	if err := checkSizes(got, sizes, "StreamingOutputCall"); err != nil {
		return err
	}
	return checkCompressed(rec.Received(), flags, "StreamingOutputCall response")
}
