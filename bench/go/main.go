// detcd-go-bench: the load generator of `scripts/bench-vs-etcd --instrument go`, written on etcd's
// own Go client (clientv3 3.4, from Debian's golang-etcd-server-dev, built in GOPATH mode).
//
// It measures what an etcd user's application sees: the same gRPC stack, balancer, retries and
// (with --user) token handling as every Go program that talks to etcd, Kubernetes included. Its
// workloads and its one line of output are those of detcd-bench (`--output tsv`), so the script
// treats both instruments alike:
//
//	workload <TAB> ok <TAB> errors <TAB> requests/s <TAB> p50 ms <TAB> p99 ms <TAB> p99.9 ms
//
// --clients goroutines share --conns clientv3 clients; client i talks to endpoint i mod N only,
// as detcd-bench's connection i does, so load spreads evenly over the members. Each goroutine
// keeps one request in flight until --duration has passed. A request's latency is measured
// around the clientv3 call.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	workload := flag.String("workload", "put", "put, range-l, range-s, txn or watch")
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated client URLs")
	clients := flag.Int("clients", 64, "goroutines, each with one request in flight")
	conns := flag.Int("conns", 8, "clientv3 clients (each one gRPC connection to one endpoint)")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	keySize := flag.Int("key-size", 8, "bytes per key (zero-padded decimal numbers)")
	valSize := flag.Int("val-size", 8, "bytes per value")
	keySpace := flag.Int("key-space", 10000, "distinct keys")
	cacert := flag.String("cacert", "", "CA bundle that verifies the members (TLS)")
	cert := flag.String("cert", "", "client certificate (TLS)")
	key := flag.String("key", "", "client key (TLS)")
	user := flag.String("user", "", "name:password to authenticate as")
	flag.Parse()

	plan := Plan{
		Workload: *workload,
		Clients:  *clients,
		Conns:    *conns,
		Duration: *duration,
		KeySize:  *keySize,
		ValSize:  *valSize,
		KeySpace: *keySpace,
	}
	problems := plan.problems()
	urls := strings.Split(*endpoints, ",")
	for _, url := range urls {
		if url == "" {
			problems = append(problems, "--endpoints has an empty entry")
		}
	}
	if (*cert == "") != (*key == "") {
		problems = append(problems, "--cert and --key go together")
	}
	if *user != "" && !strings.Contains(*user, ":") {
		problems = append(problems, "--user takes name:password")
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "detcd-go-bench: %s\n", strings.Join(problems, "; "))
		os.Exit(2)
	}

	access := Access{Endpoints: urls, CACert: *cacert, Cert: *cert, Key: *key, User: *user}
	summary, err := run(plan, access)
	if err != nil {
		fmt.Fprintf(os.Stderr, "detcd-go-bench: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(summary.tsv(plan.Workload))
}
