package main

import (
	"fmt"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "plugrpc/interop/grpc_testing"
	"plugrpc/interop/interopkit"
)

// The standard sizes of the interop cases (grpc doc/interop-test-descriptions.md).
const (
	largeRequestSize  = 271828
	largeResponseSize = 314159
)

var (
	streamingRequestSizes  = []int{27182, 8, 1828, 45904}
	streamingResponseSizes = []int{31415, 9, 2653, 58979}
)

// largeRequest is large_unary's request: 271828 zero bytes, asking for 314159.
func largeRequest() *pb.SimpleRequest {
	return &pb.SimpleRequest{
		ResponseType: pb.PayloadType_COMPRESSABLE,
		ResponseSize: largeResponseSize,
		Payload:      interopkit.MustPayload(largeRequestSize),
	}
}

// outputRequest asks for one response of each size, carrying a payload of payloadSize.
func outputRequest(payloadSize int, responseSizes ...int) *pb.StreamingOutputCallRequest {
	req := &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE}
	if payloadSize > 0 {
		req.Payload = interopkit.MustPayload(payloadSize)
	}
	for _, size := range responseSizes {
		req.ResponseParameters = append(req.ResponseParameters, &pb.ResponseParameters{Size: int32(size)})
	}
	return req
}

// wantCode checks that err carries the status code want.
func wantCode(err error, want codes.Code, what string) error {
	if got := status.Code(err); got != want {
		return fmt.Errorf("%s: status %v (%q), want %v", what, got, status.Convert(err).Message(), want)
	}
	return nil
}

// wantStatus checks that err carries exactly the status code and message wanted.
func wantStatus(err error, code codes.Code, message, what string) error {
	if err := wantCode(err, code, what); err != nil {
		return err
	}
	if got := status.Convert(err).Message(); got != message {
		return fmt.Errorf("%s: status message %q, want %q", what, got, message)
	}
	return nil
}

// messageReceiver is the Recv method of every server-streaming stub.
type messageReceiver interface {
	Recv() (*pb.StreamingOutputCallResponse, error)
}

// recvAll reads responses until the end of the stream and checks that it ended with OK.
func recvAll(stream messageReceiver, what string) ([]*pb.StreamingOutputCallResponse, error) {
	var got []*pb.StreamingOutputCallResponse
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, fmt.Errorf("%s: after %d responses: %v", what, len(got), err)
		}
		got = append(got, resp)
	}
}

// checkSizes checks that the responses carry payloads of exactly the sizes wanted, in order.
func checkSizes(got []*pb.StreamingOutputCallResponse, want []int, what string) error {
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d responses, want %d", what, len(got), len(want))
	}
	for i, resp := range got {
		if err := interopkit.CheckPayload(resp.GetPayload(), want[i]); err != nil {
			return fmt.Errorf("%s: response %d: %v", what, i, err)
		}
	}
	return nil
}

// checkCompressed checks the compressed flag of each recorded message.
func checkCompressed(got []interopkit.Message, want []bool, what string) error {
	if len(got) != len(want) {
		return fmt.Errorf("%s: %d messages recorded, want %d", what, len(got), len(want))
	}
	for i, m := range got {
		if m.Compressed() != want[i] {
			return fmt.Errorf("%s: message %d was %s (%d bytes on the wire, %d decoded), want %s",
				what, i, compressedWord(m.Compressed()), m.WireLength, m.Length, compressedWord(want[i]))
		}
	}
	return nil
}

func compressedWord(compressed bool) string {
	if compressed {
		return "compressed"
	}
	return "uncompressed"
}
