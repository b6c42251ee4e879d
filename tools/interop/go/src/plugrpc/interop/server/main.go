// Command interop_server is plugrpc's gRPC interop test server on grpc-go (Debian's
// golang-google-grpc-dev, 1.33): grpc.testing.TestService with the standard server flags.
//
// It prints one line when it is serving ("interop_server: serving ... on port N") and
// stops gracefully on SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // registers the gzip compressor
	"google.golang.org/grpc/testdata"

	"plugrpc/interop/interopkit"
)

func main() {
	flags := flag.NewFlagSet("interop_server", flag.ExitOnError)
	port := flags.Int("port", 10000, "port to listen on (0: any free port, printed when serving)")
	useTLS := flags.Bool("use_tls", false, "serve TLS (with ALPN h2) instead of plaintext")
	certFile := flags.String("tls_cert_file", "", "PEM certificate chain for TLS (default: grpc-go's testdata server1.pem)")
	keyFile := flags.String("tls_key_file", "", "PEM private key for TLS (default: grpc-go's testdata server1.key)")
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "usage: interop_server [--port=N] [--use_tls=true|false] [--tls_cert_file=PEM] [--tls_key_file=PEM]\n\n")
		flags.PrintDefaults()
	}
	_ = flags.Parse(os.Args[1:])
	if flags.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "interop_server: unexpected argument %q\n", flags.Arg(0))
		flags.Usage()
		os.Exit(2)
	}

	opts := []grpc.ServerOption{grpc.StatsHandler(interopkit.StatsHandler{TagEveryCall: true})}
	if *useTLS {
		if *certFile == "" {
			*certFile = testdata.Path("server1.pem")
		}
		if *keyFile == "" {
			*keyFile = testdata.Path("server1.key")
		}
		creds, err := credentials.NewServerTLSFromFile(*certFile, *keyFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "interop_server: TLS: %v\n", err)
			os.Exit(1)
		}
		opts = append(opts, grpc.Creds(creds))
	}

	lis, err := net.Listen("tcp", fmt.Sprintf(":%d", *port))
	if err != nil {
		fmt.Fprintf(os.Stderr, "interop_server: %v\n", err)
		os.Exit(1)
	}
	hostname, _ := os.Hostname()
	server := grpc.NewServer(opts...)
	server.RegisterService(&testServiceDesc, &testServer{
		serverID: fmt.Sprintf("plugrpc-go-interop-server-%d", os.Getpid()),
		hostname: hostname,
	})

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		done := make(chan struct{})
		go func() { server.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			server.Stop()
		}
	}()

	transport := "plaintext"
	if *useTLS {
		transport = "tls"
	}
	fmt.Printf("interop_server: serving grpc.testing.TestService (grpc-go %s, %s) on port %d\n",
		grpc.Version, transport, lis.Addr().(*net.TCPAddr).Port)
	if err := server.Serve(lis); err != nil {
		fmt.Fprintf(os.Stderr, "interop_server: %v\n", err)
		os.Exit(1)
	}
}
