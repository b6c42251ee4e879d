package main

// The test cases without compression, as grpc doc/interop-test-descriptions.md describes
// them; each returns nil when every assertion held.

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/golang/protobuf/proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	pb "plugrpc/interop/grpc_testing"
	"plugrpc/interop/interopkit"
)

func emptyUnary(ctx context.Context, e *env) error {
	ctx, rec := interopkit.WithRecord(ctx)
	reply, err := e.client.EmptyCall(ctx, &pb.Empty{})
	if err != nil {
		return fmt.Errorf("EmptyCall: %v", err)
	}
	if reply == nil {
		return fmt.Errorf("EmptyCall: no response")
	}
	if n := proto.Size(reply); n != 0 {
		return fmt.Errorf("EmptyCall: response serializes to %d bytes, want 0", n)
	}
	// The descriptions' ideal check, which grpc-go's stats make cheap: both messages were
	// zero bytes on the wire, not merely decoded as empty.
	for what, msgs := range map[string][]interopkit.Message{"request": rec.Sent(), "response": rec.Received()} {
		if len(msgs) != 1 || msgs[0].Length != 0 {
			return fmt.Errorf("EmptyCall: %s messages %+v, want one of 0 bytes", what, msgs)
		}
	}
	return nil
}

func largeUnary(ctx context.Context, e *env) error {
	resp, err := e.client.UnaryCall(ctx, largeRequest())
	if err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}
	if err := interopkit.CheckPayload(resp.GetPayload(), largeResponseSize); err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}
	return nil
}

func clientStreaming(ctx context.Context, e *env) error {
	stream, err := e.client.StreamingInputCall(ctx)
	if err != nil {
		return fmt.Errorf("StreamingInputCall: %v", err)
	}
	want := 0
	for _, size := range streamingRequestSizes {
		if err := stream.Send(&pb.StreamingInputCallRequest{Payload: interopkit.MustPayload(size)}); err != nil {
			return fmt.Errorf("StreamingInputCall: send %d bytes: %v", size, err)
		}
		want += size
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("StreamingInputCall: %v", err)
	}
	if got := resp.GetAggregatedPayloadSize(); int(got) != want {
		return fmt.Errorf("StreamingInputCall: aggregated_payload_size %d, want %d", got, want)
	}
	return nil
}

func serverStreaming(ctx context.Context, e *env) error {
	stream, err := e.client.StreamingOutputCall(ctx, outputRequest(0, streamingResponseSizes...))
	if err != nil {
		return fmt.Errorf("StreamingOutputCall: %v", err)
	}
	got, err := recvAll(stream, "StreamingOutputCall")
	if err != nil {
		return err
	}
	return checkSizes(got, streamingResponseSizes, "StreamingOutputCall")
}

func pingPong(ctx context.Context, e *env) error {
	stream, err := e.client.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	for i, size := range streamingResponseSizes {
		if err := stream.Send(outputRequest(streamingRequestSizes[i], size)); err != nil {
			return fmt.Errorf("FullDuplexCall: send %d: %v", i, err)
		}
		resp, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("FullDuplexCall: reply %d: %v", i, err)
		}
		if err := interopkit.CheckPayload(resp.GetPayload(), size); err != nil {
			return fmt.Errorf("FullDuplexCall: reply %d: %v", i, err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: half-close: %v", err)
	}
	if resp, err := stream.Recv(); err != io.EOF {
		return fmt.Errorf("FullDuplexCall: after half-close got (%v, %v), want the end of the stream with OK", resp, err)
	}
	return nil
}

func emptyStream(ctx context.Context, e *env) error {
	stream, err := e.client.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: half-close: %v", err)
	}
	got, err := recvAll(stream, "FullDuplexCall")
	if err != nil {
		return err
	}
	if len(got) != 0 {
		return fmt.Errorf("FullDuplexCall: %d responses, want none", len(got))
	}
	return nil
}

func timeoutOnSleepingServer(ctx context.Context, e *env) error {
	ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	stream, err := e.client.FullDuplexCall(ctx)
	if err != nil {
		// The deadline may already have passed when the call starts.
		return wantCode(err, codes.DeadlineExceeded, "FullDuplexCall")
	}
	// A send may fail with io.EOF once the deadline has ended the stream; Recv has the status.
	if err := stream.Send(outputRequest(27182)); err != nil && err != io.EOF {
		return fmt.Errorf("FullDuplexCall: send: %v", err)
	}
	_, err = stream.Recv()
	return wantCode(err, codes.DeadlineExceeded, "FullDuplexCall")
}

func cancelAfterBegin(ctx context.Context, e *env) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := e.client.StreamingInputCall(ctx)
	if err != nil {
		return fmt.Errorf("StreamingInputCall: %v", err)
	}
	cancel()
	_, err = stream.CloseAndRecv()
	return wantCode(err, codes.Canceled, "StreamingInputCall")
}

func cancelAfterFirstResponse(ctx context.Context, e *env) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := e.client.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	if err := stream.Send(outputRequest(27182, 31415)); err != nil {
		return fmt.Errorf("FullDuplexCall: send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("FullDuplexCall: first response: %v", err)
	}
	if err := interopkit.CheckPayload(resp.GetPayload(), 31415); err != nil {
		return fmt.Errorf("FullDuplexCall: first response: %v", err)
	}
	cancel()
	_, err = stream.Recv()
	return wantCode(err, codes.Canceled, "FullDuplexCall")
}

// echoStatusCalls asks the server, over UnaryCall and then (if bidi) FullDuplexCall, to end
// the call with code and message, and checks that exactly those come back.
func echoStatusCalls(ctx context.Context, e *env, code codes.Code, message string, bidi bool) error {
	wanted := &pb.EchoStatus{Code: int32(code), Message: message}
	_, err := e.client.UnaryCall(ctx, &pb.SimpleRequest{ResponseStatus: wanted})
	if err := wantStatus(err, code, message, "UnaryCall"); err != nil {
		return err
	}
	if !bidi {
		return nil
	}
	stream, err := e.client.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	if err := stream.Send(&pb.StreamingOutputCallRequest{ResponseStatus: wanted}); err != nil && err != io.EOF {
		return fmt.Errorf("FullDuplexCall: send: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: half-close: %v", err)
	}
	_, err = stream.Recv()
	return wantStatus(err, code, message, "FullDuplexCall")
}

func statusCodeAndMessage(ctx context.Context, e *env) error {
	return echoStatusCalls(ctx, e, codes.Unknown, "test status message", true)
}

func specialStatusMessage(ctx context.Context, e *env) error {
	// Whitespace, a BMP and a non-BMP character: grpc-message must be percent-encoded
	// and decoded byte for byte (PROTOCOL-HTTP2, "Responses").
	const message = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
	return echoStatusCalls(ctx, e, codes.Unknown, message, false)
}

// The Echo Metadata keys and the values custom_metadata sends.
const (
	echoInitialKey    = "x-grpc-test-echo-initial"
	echoInitialValue  = "test_initial_metadata_value"
	echoTrailingKey   = "x-grpc-test-echo-trailing-bin"
	echoTrailingValue = "\xab\xab\xab"
)

// checkEchoed checks that the header and trailer carry exactly the echoed values.
func checkEchoed(header, trailer metadata.MD, what string) error {
	if got := header.Get(echoInitialKey); len(got) != 1 || got[0] != echoInitialValue {
		return fmt.Errorf("%s: initial metadata %s = %q, want [%q]", what, echoInitialKey, got, echoInitialValue)
	}
	if got := trailer.Get(echoTrailingKey); len(got) != 1 || got[0] != echoTrailingValue {
		return fmt.Errorf("%s: trailing metadata %s = %q, want [%q]", what, echoTrailingKey, got, echoTrailingValue)
	}
	return nil
}

func customMetadata(ctx context.Context, e *env) error {
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(
		echoInitialKey, echoInitialValue, echoTrailingKey, echoTrailingValue))

	var header, trailer metadata.MD
	resp, err := e.client.UnaryCall(ctx, largeRequest(), grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}
	if err := interopkit.CheckPayload(resp.GetPayload(), largeResponseSize); err != nil {
		return fmt.Errorf("UnaryCall: %v", err)
	}
	if err := checkEchoed(header, trailer, "UnaryCall"); err != nil {
		return err
	}

	stream, err := e.client.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall: %v", err)
	}
	if err := stream.Send(outputRequest(largeRequestSize, largeResponseSize)); err != nil {
		return fmt.Errorf("FullDuplexCall: send: %v", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: half-close: %v", err)
	}
	got, err := recvAll(stream, "FullDuplexCall")
	if err != nil {
		return err
	}
	if err := checkSizes(got, []int{largeResponseSize}, "FullDuplexCall"); err != nil {
		return err
	}
	if header, err = stream.Header(); err != nil {
		return fmt.Errorf("FullDuplexCall: initial metadata: %v", err)
	}
	return checkEchoed(header, stream.Trailer(), "FullDuplexCall")
}

func unimplementedMethod(ctx context.Context, e *env) error {
	_, err := e.client.UnimplementedCall(ctx, &pb.Empty{})
	return wantCode(err, codes.Unimplemented, "TestService/UnimplementedCall")
}

func unimplementedService(ctx context.Context, e *env) error {
	_, err := pb.NewUnimplementedServiceClient(e.conn).UnimplementedCall(ctx, &pb.Empty{})
	return wantCode(err, codes.Unimplemented, "UnimplementedService/UnimplementedCall")
}
