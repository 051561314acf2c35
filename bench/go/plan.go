// The run's parameters and how a client reaches the cluster.
package main

import (
	"fmt"
	"time"
)

// Plan is what to send, how much and for how long.
type Plan struct {
	Workload string
	Clients  int
	Conns    int
	Duration time.Duration
	KeySize  int
	ValSize  int
	KeySpace int
}

// Access is where the members are and how to talk to them.
type Access struct {
	Endpoints []string
	CACert    string
	Cert      string
	Key       string
	// User is name:password, or empty for no authentication.
	User string
}

// problems lists every flag value the run cannot use, so one refusal names them all.
func (p Plan) problems() []string {
	var found []string
	switch p.Workload {
	case "put", "range-l", "range-s", "txn", "watch":
	default:
		found = append(found, fmt.Sprintf("unknown --workload %q (put, range-l, range-s, txn, watch)", p.Workload))
	}
	if p.Clients < 1 || p.Conns < 1 {
		found = append(found, "--clients and --conns must be at least 1")
	}
	if p.Duration <= 0 {
		found = append(found, "--duration must be positive")
	}
	if p.KeySpace < 1 || p.ValSize < 0 {
		found = append(found, "--key-space must be at least 1 and --val-size not negative")
	} else if len(fmt.Sprint(p.KeySpace-1)) > p.KeySize {
		found = append(found, fmt.Sprintf("--key-size %d is too small for %d keys", p.KeySize, p.KeySpace))
	}
	return found
}

// keyName is key number n, zero-padded to size bytes (detcd-bench's keys).
func keyName(n, size int) string {
	return fmt.Sprintf("%0*d", size, n)
}
