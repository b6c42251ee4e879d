package main

// rpc_soak and channel_soak: many large_unary-like calls, on one channel or on a new
// channel each, counting as a failure every call that fails, returns the wrong payload or
// takes longer than the per-iteration limit. The case fails when failures exceed
// --soak_max_failures or when the overall time runs out before every iteration ran.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"google.golang.org/grpc"

	pb "plugrpc/interop/grpc_testing"
	"plugrpc/interop/interopkit"
)

// soakConfig holds the soak flags; the defaults are grpc-go's.
type soakConfig struct {
	iterations         int
	maxFailures        int
	maxLatencyMs       int
	overallTimeoutSecs int
	minTimeBetweenMs   int
	requestSize        int
	responseSize       int
}

func (c *soakConfig) register(fs *flag.FlagSet) {
	fs.IntVar(&c.iterations, "soak_iterations", 10, "soak: number of calls")
	fs.IntVar(&c.maxFailures, "soak_max_failures", 0, "soak: failed (or too slow) calls tolerated")
	fs.IntVar(&c.maxLatencyMs, "soak_per_iteration_max_acceptable_latency_ms", 1000, "soak: a call slower than this counts as failed")
	fs.IntVar(&c.overallTimeoutSecs, "soak_overall_timeout_seconds", 10, "soak: time for all the calls")
	fs.IntVar(&c.minTimeBetweenMs, "soak_min_time_ms_between_rpcs", 0, "soak: least time from the start of one call to the start of the next")
	fs.IntVar(&c.requestSize, "soak_request_size", largeRequestSize, "soak: request payload bytes")
	fs.IntVar(&c.responseSize, "soak_response_size", largeResponseSize, "soak: response payload bytes")
}

func (c soakConfig) validate() error {
	for name, v := range map[string]int{
		"--soak_iterations": c.iterations, "--soak_max_failures": c.maxFailures,
		"--soak_per_iteration_max_acceptable_latency_ms": c.maxLatencyMs,
		"--soak_min_time_ms_between_rpcs":                c.minTimeBetweenMs,
		"--soak_request_size":                            c.requestSize, "--soak_response_size": c.responseSize,
	} {
		if v < 0 {
			return fmt.Errorf("%s must not be negative, got %d", name, v)
		}
	}
	if c.overallTimeoutSecs <= 0 {
		return fmt.Errorf("--soak_overall_timeout_seconds must be positive, got %d", c.overallTimeoutSecs)
	}
	return nil
}

func (c soakConfig) overallTimeout() time.Duration {
	return time.Duration(c.overallTimeoutSecs) * time.Second
}

func rpcSoak(ctx context.Context, e *env) error     { return soak(ctx, e, false) }
func channelSoak(ctx context.Context, e *env) error { return soak(ctx, e, true) }

// soakIteration makes one call, on conn or on a channel of its own, and returns its
// latency (channel set-up included for a new channel, as its first call pays for it).
func soakIteration(ctx context.Context, e *env, conn *grpc.ClientConn, newChannel bool) (time.Duration, error) {
	start := time.Now()
	if newChannel {
		var err error
		if conn, err = e.dial(); err != nil {
			return 0, fmt.Errorf("dial: %v", err)
		}
		defer conn.Close()
	}
	req := &pb.SimpleRequest{ResponseType: pb.PayloadType_COMPRESSABLE, ResponseSize: int32(e.soak.responseSize)}
	payload, err := interopkit.NewPayload(e.soak.requestSize)
	if err != nil {
		return 0, err
	}
	req.Payload = payload
	resp, err := pb.NewTestServiceClient(conn).UnaryCall(ctx, req)
	latency := time.Since(start)
	if err != nil {
		return latency, fmt.Errorf("UnaryCall: %v", err)
	}
	if err := interopkit.CheckPayload(resp.GetPayload(), e.soak.responseSize); err != nil {
		return latency, fmt.Errorf("UnaryCall: %v", err)
	}
	return latency, nil
}

func soak(ctx context.Context, e *env, newChannel bool) error {
	cfg := e.soak
	ctx, cancel := context.WithTimeout(ctx, cfg.overallTimeout())
	defer cancel()
	deadline, _ := ctx.Deadline()
	maxLatency := time.Duration(cfg.maxLatencyMs) * time.Millisecond
	gap := time.Duration(cfg.minTimeBetweenMs) * time.Millisecond

	ran, failures := 0, 0
	var latencies []time.Duration
	for ran < cfg.iterations && time.Now().Before(deadline) {
		next := time.Now().Add(gap)
		latency, err := soakIteration(ctx, e, e.conn, newChannel)
		ran++
		switch {
		case err != nil:
			failures++
			fmt.Fprintf(os.Stderr, "soak iteration %d failed after %v: %v\n", ran-1, latency.Round(time.Microsecond), err)
		case latency > maxLatency:
			failures++
			fmt.Fprintf(os.Stderr, "soak iteration %d took %v, over the %v limit\n", ran-1, latency.Round(time.Microsecond), maxLatency)
		default:
			latencies = append(latencies, latency)
		}
		if wait := time.Until(next); wait > 0 && ran < cfg.iterations {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
	}
	fmt.Printf("soak: %d of %d iterations ran, %d failed; %s\n", ran, cfg.iterations, failures, latencySummary(latencies))
	if ran < cfg.iterations {
		return fmt.Errorf("soak: the overall timeout of %v ran out after %d of %d iterations", cfg.overallTimeout(), ran, cfg.iterations)
	}
	if failures > cfg.maxFailures {
		return fmt.Errorf("soak: %d iterations failed, more than --soak_max_failures=%d", failures, cfg.maxFailures)
	}
	return nil
}

// latencySummary gives the min, median, 90th percentile and max of the good iterations.
func latencySummary(latencies []time.Duration) string {
	if len(latencies) == 0 {
		return "no successful iteration"
	}
	sorted := append([]time.Duration(nil), latencies...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	at := func(q float64) time.Duration { return sorted[int(q*float64(len(sorted)-1))].Round(time.Microsecond) }
	return fmt.Sprintf("latency min %v, median %v, p90 %v, max %v", at(0), at(0.5), at(0.9), at(1))
}
