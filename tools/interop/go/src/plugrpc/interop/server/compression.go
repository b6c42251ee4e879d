package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"

	pb "plugrpc/interop/grpc_testing"
	"plugrpc/interop/interopkit"
)

// requestEncoding returns the call's grpc-encoding ("" or "identity" for none).
//
// grpc-go 1.33 keeps the header out of the metadata it hands to handlers; the value lives
// on the call's transport stream, which the handler's context carries as its
// grpc.ServerTransportStream and which has an exported RecvCompress method.
func requestEncoding(ctx context.Context) (string, error) {
	sts, ok := grpc.ServerTransportStreamFromContext(ctx).(interface{ RecvCompress() string })
	if !ok {
		return "", status.Error(codes.Internal,
			"interop_server: this grpc-go does not expose the call's grpc-encoding (RecvCompress)")
	}
	return sts.RecvCompress(), nil
}

// responsesCompressed reports whether grpc-go will compress this call's responses.
//
// grpc-go 1.33 compresses every response of a call with the request's grpc-encoding when
// that is a registered compressor, and never otherwise (server.go, processUnaryRPC and
// processStreamingRPC): no per-call choice, no per-message switch (grpc.SetSendCompressor
// came in a later release). The only other lever, the deprecated server-wide
// grpc.RPCCompressor, compresses every response of every call, so it cannot serve a client
// that asks for some responses compressed and others not either.
func responsesCompressed(ctx context.Context) (bool, error) {
	enc, err := requestEncoding(ctx)
	if err != nil {
		return false, err
	}
	return enc != "" && enc != encoding.Identity && encoding.GetCompressor(enc) != nil, nil
}

// checkResponseCompression fails the call with UNIMPLEMENTED when the client asks for a
// response compressed (or not) and grpc-go will do the opposite: a wrong flag sent
// silently would pass against a client that cannot see flags and mislead against one
// that can, while this status says what happened.
func checkResponseCompression(ctx context.Context, want *pb.BoolValue, what string) error {
	if want == nil {
		return nil
	}
	will, err := responsesCompressed(ctx)
	if err != nil {
		return err
	}
	if want.GetValue() == will {
		return nil
	}
	return status.Errorf(codes.Unimplemented,
		"interop_server (grpc-go 1.33) cannot send %s %s: grpc-go compresses responses "+
			"exactly when the request is compressed, and this request is %s",
		what, map[bool]string{true: "compressed", false: "uncompressed"}[want.GetValue()],
		map[bool]string{true: "compressed", false: "not compressed"}[will])
}

// checkRequestCompression implements the CompressedRequest feature for the message the
// call received last: when expect_compressed is set, the message must have arrived
// compressed (true) or uncompressed (false), else the call fails with INVALID_ARGUMENT.
func checkRequestCompression(ctx context.Context, expect *pb.BoolValue) error {
	if expect == nil {
		return nil
	}
	rec := interopkit.RecordFrom(ctx)
	if rec == nil {
		return status.Error(codes.Internal, "interop_server: no message record on the call (stats handler missing)")
	}
	msg, ok := rec.LastReceived()
	if !ok {
		return status.Error(codes.Internal, "interop_server: no received message recorded")
	}
	if msg.Compressed() == expect.GetValue() {
		return nil
	}
	return status.Error(codes.InvalidArgument, fmt.Sprintf(
		"expect_compressed is %v but the request message arrived %s (%d bytes on the wire, %d decoded)",
		expect.GetValue(), map[bool]string{true: "compressed", false: "uncompressed"}[msg.Compressed()],
		msg.WireLength, msg.Length))
}
