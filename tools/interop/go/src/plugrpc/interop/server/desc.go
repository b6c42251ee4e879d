package main

import (
	"context"

	"google.golang.org/grpc"

	pb "plugrpc/interop/grpc_testing"
)

// The service description is written here rather than taken from the generated code:
// the generated one lists every method of the proto, UnimplementedCall included, and the
// interop server must not have that method at all, so that grpc-go itself answers it with
// UNIMPLEMENTED (case unimplemented_method) exactly as it answers a service it does not
// know (case unimplemented_service).

// testService is what the handlers below call; *testServer implements it.
type testService interface {
	EmptyCall(context.Context, *pb.Empty) (*pb.Empty, error)
	UnaryCall(context.Context, *pb.SimpleRequest) (*pb.SimpleResponse, error)
	CacheableUnaryCall(context.Context, *pb.SimpleRequest) (*pb.SimpleResponse, error)
	StreamingOutputCall(*pb.StreamingOutputCallRequest, grpc.ServerStream) error
	StreamingInputCall(grpc.ServerStream) error
	FullDuplexCall(grpc.ServerStream) error
	HalfDuplexCall(grpc.ServerStream) error
}

// unaryHandler adapts one typed unary method to grpc-go's handler shape, running the
// server's unary interceptor if there is one.
func unaryHandler(
	method string,
	newRequest func() interface{},
	call func(testService, context.Context, interface{}) (interface{}, error),
) func(interface{}, context.Context, func(interface{}) error, grpc.UnaryServerInterceptor) (interface{}, error) {
	fullMethod := "/grpc.testing.TestService/" + method
	return func(srv interface{}, ctx context.Context, dec func(interface{}) error, icpt grpc.UnaryServerInterceptor) (interface{}, error) {
		in := newRequest()
		if err := dec(in); err != nil {
			return nil, err
		}
		svc := srv.(testService)
		if icpt == nil {
			return call(svc, ctx, in)
		}
		info := &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}
		return icpt(ctx, in, info, func(ctx context.Context, req interface{}) (interface{}, error) {
			return call(svc, ctx, req)
		})
	}
}

var testServiceDesc = grpc.ServiceDesc{
	ServiceName: "grpc.testing.TestService",
	HandlerType: (*testService)(nil),
	Methods: []grpc.MethodDesc{
		{
			MethodName: "EmptyCall",
			Handler: unaryHandler("EmptyCall", func() interface{} { return new(pb.Empty) },
				func(s testService, ctx context.Context, in interface{}) (interface{}, error) {
					return s.EmptyCall(ctx, in.(*pb.Empty))
				}),
		},
		{
			MethodName: "UnaryCall",
			Handler: unaryHandler("UnaryCall", func() interface{} { return new(pb.SimpleRequest) },
				func(s testService, ctx context.Context, in interface{}) (interface{}, error) {
					return s.UnaryCall(ctx, in.(*pb.SimpleRequest))
				}),
		},
		{
			MethodName: "CacheableUnaryCall",
			Handler: unaryHandler("CacheableUnaryCall", func() interface{} { return new(pb.SimpleRequest) },
				func(s testService, ctx context.Context, in interface{}) (interface{}, error) {
					return s.CacheableUnaryCall(ctx, in.(*pb.SimpleRequest))
				}),
		},
	},
	Streams: []grpc.StreamDesc{
		{
			StreamName: "StreamingOutputCall",
			Handler: func(srv interface{}, stream grpc.ServerStream) error {
				in := new(pb.StreamingOutputCallRequest)
				if err := stream.RecvMsg(in); err != nil {
					return err
				}
				return srv.(testService).StreamingOutputCall(in, stream)
			},
			ServerStreams: true,
		},
		{
			StreamName: "StreamingInputCall",
			Handler: func(srv interface{}, stream grpc.ServerStream) error {
				return srv.(testService).StreamingInputCall(stream)
			},
			ClientStreams: true,
		},
		{
			StreamName: "FullDuplexCall",
			Handler: func(srv interface{}, stream grpc.ServerStream) error {
				return srv.(testService).FullDuplexCall(stream)
			},
			ServerStreams: true,
			ClientStreams: true,
		},
		{
			StreamName: "HalfDuplexCall",
			Handler: func(srv interface{}, stream grpc.ServerStream) error {
				return srv.(testService).HalfDuplexCall(stream)
			},
			ServerStreams: true,
			ClientStreams: true,
		},
	},
	Metadata: "interop_test.proto",
}
