package main

import (
	"context"
	"io"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "plugrpc/interop/grpc_testing"
	"plugrpc/interop/interopkit"
)

// The Echo Metadata feature's keys (grpc doc/interop-test-descriptions.md).
const (
	echoInitialKey  = "x-grpc-test-echo-initial"
	echoTrailingKey = "x-grpc-test-echo-trailing-bin"
)

// testServer implements grpc.testing.TestService as the interop test descriptions ask:
// sizes, intervals, Echo Status, Echo Metadata, CompressedRequest and, within what
// grpc-go 1.33 allows, CompressedResponse.
type testServer struct {
	serverID string
	hostname string
}

// echoedMetadata returns the initial and trailing metadata to send back: the echo keys
// of the request, each with exactly the values it came with.
func echoedMetadata(ctx context.Context) (header, trailer metadata.MD) {
	in, _ := metadata.FromIncomingContext(ctx)
	header, trailer = metadata.MD{}, metadata.MD{}
	if v := in.Get(echoInitialKey); len(v) > 0 {
		header[echoInitialKey] = v
	}
	if v := in.Get(echoTrailingKey); len(v) > 0 {
		trailer[echoTrailingKey] = v
	}
	return header, trailer
}

// echoUnary queues the echoed metadata of a unary call.
func echoUnary(ctx context.Context) error {
	header, trailer := echoedMetadata(ctx)
	if header.Len() > 0 {
		if err := grpc.SetHeader(ctx, header); err != nil {
			return err
		}
	}
	if trailer.Len() > 0 {
		return grpc.SetTrailer(ctx, trailer)
	}
	return nil
}

// echoStream queues the echoed metadata of a streaming call.
func echoStream(stream grpc.ServerStream) error {
	header, trailer := echoedMetadata(stream.Context())
	if header.Len() > 0 {
		if err := stream.SetHeader(header); err != nil {
			return err
		}
	}
	if trailer.Len() > 0 {
		stream.SetTrailer(trailer)
	}
	return nil
}

// echoStatus returns the status the client asked the call to end with, or nil for OK.
func echoStatus(s *pb.EchoStatus) error {
	if s == nil || s.GetCode() == 0 {
		return nil
	}
	return status.Error(codes.Code(s.GetCode()), s.GetMessage())
}

// responsePayload builds a payload of the requested type and size.
func responsePayload(kind pb.PayloadType, size int32) (*pb.Payload, error) {
	if kind != pb.PayloadType_COMPRESSABLE {
		return nil, status.Errorf(codes.InvalidArgument, "unsupported response_type %v", kind)
	}
	p, err := interopkit.NewPayload(int(size))
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "response size: %v", err)
	}
	return p, nil
}

// sleepMicros waits interval_us microseconds, or until the call ends.
func sleepMicros(ctx context.Context, us int32) error {
	if us <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(us) * time.Microsecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

func (s *testServer) EmptyCall(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	if err := echoUnary(ctx); err != nil {
		return nil, err
	}
	return &pb.Empty{}, nil
}

func (s *testServer) UnaryCall(ctx context.Context, req *pb.SimpleRequest) (*pb.SimpleResponse, error) {
	if err := echoUnary(ctx); err != nil {
		return nil, err
	}
	if err := checkRequestCompression(ctx, req.GetExpectCompressed()); err != nil {
		return nil, err
	}
	if err := echoStatus(req.GetResponseStatus()); err != nil {
		return nil, err
	}
	if err := checkResponseCompression(ctx, req.GetResponseCompressed(), "a response"); err != nil {
		return nil, err
	}
	payload, err := responsePayload(req.GetResponseType(), req.GetResponseSize())
	if err != nil {
		return nil, err
	}
	resp := &pb.SimpleResponse{Payload: payload, Hostname: s.hostname}
	if req.GetFillServerId() {
		resp.ServerId = s.serverID
	}
	// fill_username and fill_oauth_scope stay empty: this server authenticates nobody.
	return resp, nil
}

// CacheableUnaryCall answers with the current time in nanoseconds as the payload and
// headers that let a caching proxy keep the response for 60 seconds (the interop
// descriptions' CacheableUnaryCall); grpc-go has no GET, so the call arrives as a POST.
func (s *testServer) CacheableUnaryCall(ctx context.Context, _ *pb.SimpleRequest) (*pb.SimpleResponse, error) {
	if err := echoUnary(ctx); err != nil {
		return nil, err
	}
	if err := grpc.SetHeader(ctx, metadata.Pairs("cache-control", "max-age=60, public")); err != nil {
		return nil, err
	}
	body := []byte(strconv.FormatInt(time.Now().UnixNano(), 10))
	return &pb.SimpleResponse{Payload: &pb.Payload{Type: pb.PayloadType_COMPRESSABLE, Body: body}}, nil
}

// respond sends one response per parameter, each after its interval, after checking that
// every compression wish can be met (so a call fails before it sends anything).
func respond(stream grpc.ServerStream, kind pb.PayloadType, params []*pb.ResponseParameters) error {
	ctx := stream.Context()
	for _, p := range params {
		if err := checkResponseCompression(ctx, p.GetCompressed(), "a response message"); err != nil {
			return err
		}
	}
	for _, p := range params {
		if err := sleepMicros(ctx, p.GetIntervalUs()); err != nil {
			return err
		}
		payload, err := responsePayload(kind, p.GetSize())
		if err != nil {
			return err
		}
		if err := stream.SendMsg(&pb.StreamingOutputCallResponse{Payload: payload}); err != nil {
			return err
		}
	}
	return nil
}

func (s *testServer) StreamingOutputCall(req *pb.StreamingOutputCallRequest, stream grpc.ServerStream) error {
	if err := echoStream(stream); err != nil {
		return err
	}
	if err := respond(stream, req.GetResponseType(), req.GetResponseParameters()); err != nil {
		return err
	}
	return echoStatus(req.GetResponseStatus())
}

func (s *testServer) StreamingInputCall(stream grpc.ServerStream) error {
	if err := echoStream(stream); err != nil {
		return err
	}
	var total int32
	for {
		req := new(pb.StreamingInputCallRequest)
		err := stream.RecvMsg(req)
		if err == io.EOF {
			return stream.SendMsg(&pb.StreamingInputCallResponse{AggregatedPayloadSize: total})
		}
		if err != nil {
			return err
		}
		if err := checkRequestCompression(stream.Context(), req.GetExpectCompressed()); err != nil {
			return err
		}
		total += int32(len(req.GetPayload().GetBody()))
	}
}

func (s *testServer) FullDuplexCall(stream grpc.ServerStream) error {
	if err := echoStream(stream); err != nil {
		return err
	}
	for {
		req := new(pb.StreamingOutputCallRequest)
		err := stream.RecvMsg(req)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		// Echo Status: end the call with the requested status and read nothing more.
		if err := echoStatus(req.GetResponseStatus()); err != nil {
			return err
		}
		if err := respond(stream, req.GetResponseType(), req.GetResponseParameters()); err != nil {
			return err
		}
	}
}

func (s *testServer) HalfDuplexCall(stream grpc.ServerStream) error {
	if err := echoStream(stream); err != nil {
		return err
	}
	var reqs []*pb.StreamingOutputCallRequest
	for {
		req := new(pb.StreamingOutputCallRequest)
		err := stream.RecvMsg(req)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	for _, req := range reqs {
		if err := echoStatus(req.GetResponseStatus()); err != nil {
			return err
		}
		if err := respond(stream, req.GetResponseType(), req.GetResponseParameters()); err != nil {
			return err
		}
	}
	return nil
}
