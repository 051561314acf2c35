// Latencies of one run and their summary line.
//
// Every goroutine records into its own recorder; they are merged after the last one stops, so the
// hot path shares nothing. Percentiles are read from the sorted latencies (nearest rank).
package main

import (
	"fmt"
	"sort"
	"time"
)

type recorder struct {
	latencies []time.Duration
	errors    int
	// firstError is kept to explain a run whose every request failed.
	firstError error
}

func (r *recorder) success(latency time.Duration) {
	r.latencies = append(r.latencies, latency)
}

func (r *recorder) failure(err error) {
	if r.firstError == nil {
		r.firstError = err
	}
	r.errors++
}

type summary struct {
	ok, errors     int
	requestsPerSec float64
	p50, p99, p999 time.Duration
}

func summarise(recorders []*recorder, elapsed time.Duration) summary {
	var all []time.Duration
	errors := 0
	for _, r := range recorders {
		all = append(all, r.latencies...)
		errors += r.errors
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	rank := func(q float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		i := int(q*float64(len(all))+0.999999) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(all) {
			i = len(all) - 1
		}
		return all[i]
	}
	return summary{
		ok:             len(all),
		errors:         errors,
		requestsPerSec: float64(len(all)) / elapsed.Seconds(),
		p50:            rank(0.50),
		p99:            rank(0.99),
		p999:           rank(0.999),
	}
}

func (s summary) tsv(workload string) string {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return fmt.Sprintf("%s\t%d\t%d\t%.1f\t%.3f\t%.3f\t%.3f", workload, s.ok, s.errors,
		s.requestsPerSec, ms(s.p50), ms(s.p99), ms(s.p999))
}
