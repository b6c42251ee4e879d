// Command interop_client is plugrpc's gRPC interop test client on grpc-go (Debian's
// golang-google-grpc-dev, 1.33). It runs one test case against an interop server and
// exits 0 when every assertion of the case held; otherwise it prints why and exits 1
// (2: usage error). It performs every case it knows in full, so it never skips.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io/ioutil"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip compressor
	"google.golang.org/grpc/testdata"

	pb "plugrpc/interop/grpc_testing"
	"plugrpc/interop/interopkit"
)

// Exit statuses; the matrix runner reads them (tools/interop/go/README.md).
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

// caseTimeout bounds every case but the soak ones, which have their own budget.
const caseTimeout = 30 * time.Second

// env is what a case runs with: the channel, its stubs, and how to dial another one.
type env struct {
	target   string
	dialOpts []grpc.DialOption
	conn     *grpc.ClientConn
	client   pb.TestServiceClient
	soak     soakConfig
}

// dial opens a new channel to the server with the flags' options.
func (e *env) dial() (*grpc.ClientConn, error) {
	return grpc.Dial(e.target, e.dialOpts...)
}

type testCase func(ctx context.Context, e *env) error

var cases = map[string]testCase{
	"empty_unary":                 emptyUnary,
	"large_unary":                 largeUnary,
	"client_streaming":            clientStreaming,
	"server_streaming":            serverStreaming,
	"ping_pong":                   pingPong,
	"empty_stream":                emptyStream,
	"timeout_on_sleeping_server":  timeoutOnSleepingServer,
	"cancel_after_begin":          cancelAfterBegin,
	"cancel_after_first_response": cancelAfterFirstResponse,
	"status_code_and_message":     statusCodeAndMessage,
	"special_status_message":      specialStatusMessage,
	"custom_metadata":             customMetadata,
	"unimplemented_method":        unimplementedMethod,
	"unimplemented_service":       unimplementedService,
	"client_compressed_unary":     clientCompressedUnary,
	"server_compressed_unary":     serverCompressedUnary,
	"client_compressed_streaming": clientCompressedStreaming,
	"server_compressed_streaming": serverCompressedStreaming,
	"rpc_soak":                    rpcSoak,
	"channel_soak":                channelSoak,
}

func caseNames() []string {
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// transportOptions returns the dial options for plaintext or TLS. With TLS, the CA is
// --ca_file, else grpc-go's testdata ca.pem with --use_test_ca, else the system roots;
// --server_host_override is the name verified, the SNI and (grpc-go takes it from the
// credentials) the :authority.
func transportOptions(useTLS, useTestCA bool, caFile, override string) ([]grpc.DialOption, error) {
	if !useTLS {
		if override != "" {
			return []grpc.DialOption{grpc.WithInsecure(), grpc.WithAuthority(override)}, nil
		}
		return []grpc.DialOption{grpc.WithInsecure()}, nil
	}
	cfg := &tls.Config{ServerName: override}
	if caFile == "" && useTestCA {
		caFile = testdata.Path("ca.pem")
	}
	if caFile != "" {
		pem, err := ioutil.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificate in %s", caFile)
		}
		cfg.RootCAs = pool
	}
	return []grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(cfg))}, nil
}

func main() {
	flags := flag.NewFlagSet("interop_client", flag.ExitOnError)
	host := flags.String("server_host", "localhost", "server host name or address")
	port := flags.Int("server_port", 10000, "server port")
	override := flags.String("server_host_override", "", "name for TLS verification, SNI and :authority (default: --server_host)")
	testCaseName := flags.String("test_case", "large_unary", "test case to run: "+strings.Join(caseNames(), ", "))
	useTLS := flags.Bool("use_tls", false, "connect with TLS instead of plaintext")
	useTestCA := flags.Bool("use_test_ca", false, "with TLS and no --ca_file, trust grpc-go's testdata ca.pem instead of the system roots")
	caFile := flags.String("ca_file", "", "with TLS, the PEM file of the CA to trust")
	var soak soakConfig
	soak.register(flags)
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: interop_client --test_case=NAME [--server_host=H] [--server_port=N] [--use_tls=true|false] [--ca_file=PEM] [--server_host_override=NAME] [soak flags]\n\n")
		flags.PrintDefaults()
	}
	_ = flags.Parse(os.Args[1:])
	if flags.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "interop_client: unexpected argument %q\n", flags.Arg(0))
		flags.Usage()
		os.Exit(exitUsage)
	}
	run, ok := cases[*testCaseName]
	if !ok {
		fmt.Fprintf(os.Stderr, "interop_client: unknown test case %q; known: %s\n",
			*testCaseName, strings.Join(caseNames(), ", "))
		os.Exit(exitUsage)
	}
	if err := soak.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "interop_client: %v\n", err)
		os.Exit(exitUsage)
	}

	dialOpts, err := transportOptions(*useTLS, *useTestCA, *caFile, *override)
	if err != nil {
		fmt.Fprintf(os.Stderr, "interop_client: TLS: %v\n", err)
		os.Exit(exitFail)
	}
	dialOpts = append(dialOpts, grpc.WithStatsHandler(interopkit.StatsHandler{}))
	e := &env{
		target:   net.JoinHostPort(*host, strconv.Itoa(*port)),
		dialOpts: dialOpts,
		soak:     soak,
	}
	if e.conn, err = e.dial(); err != nil {
		fmt.Fprintf(os.Stderr, "interop_client: dial %s: %v\n", e.target, err)
		os.Exit(exitFail)
	}
	e.client = pb.NewTestServiceClient(e.conn)

	timeout := caseTimeout
	if *testCaseName == "rpc_soak" || *testCaseName == "channel_soak" {
		timeout = soak.overallTimeout() + caseTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	start := time.Now()
	err = run(ctx, e)
	cancel()
	elapsed := time.Since(start).Round(time.Millisecond)
	e.conn.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "interop_client: %s FAILED after %v: %v\n", *testCaseName, elapsed, err)
		os.Exit(exitFail)
	}
	fmt.Printf("interop_client: %s passed in %v\n", *testCaseName, elapsed)
	os.Exit(exitPass)
}
