// One run: --conns clientv3 clients, --clients goroutines each with one request in flight until
// --duration has passed, then the summary.
//
// Every client connects (and, with --user, authenticates) before the clock starts, so neither
// dialing nor the first token is measured. A request that takes longer than requestTimeout is an
// error and its goroutine moves on, as detcd-bench does.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/pkg/transport"
	"go.uber.org/zap"
)

const (
	requestTimeout = 10 * time.Second
	dialTimeout    = 5 * time.Second
)

func run(plan Plan, access Access) (summary, error) {
	clients, err := connect(plan.Conns, access)
	if err != nil {
		return summary{}, err
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()

	value := strings.Repeat("v", plan.ValSize)
	recorders := make([]*recorder, plan.Clients)
	var wg sync.WaitGroup
	started := time.Now()
	until := started.Add(plan.Duration)
	for g := 0; g < plan.Clients; g++ {
		recorders[g] = &recorder{}
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			client := clients[g%len(clients)]
			if plan.Workload == "watch" {
				watchLoop(client, keyName(g, plan.KeySize), value, until, recorders[g])
				return
			}
			keys := rand.New(rand.NewSource(int64(g)))
			for time.Now().Before(until) {
				key := keyName(keys.Intn(plan.KeySpace), plan.KeySize)
				begun := time.Now()
				if err := send(client, plan.Workload, key, value); err != nil {
					recorders[g].failure(err)
				} else {
					recorders[g].success(time.Since(begun))
				}
			}
		}(g)
	}
	wg.Wait()
	result := summarise(recorders, time.Since(started))
	if result.ok == 0 {
		for _, r := range recorders {
			if r.firstError != nil {
				return summary{}, fmt.Errorf("every request failed; the first: %v", r.firstError)
			}
		}
	}
	return result, nil
}

// connect makes n clients, client i on endpoint i mod len(endpoints), each checked with one
// serializable read (which also proves the credentials) within dialTimeout before the run
// starts.
func connect(n int, access Access) ([]*clientv3.Client, error) {
	var tlsConfig *tls.Config
	if access.CACert != "" || access.Cert != "" {
		info := transport.TLSInfo{CertFile: access.Cert, KeyFile: access.Key, TrustedCAFile: access.CACert}
		config, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("TLS files: %v", err)
		}
		tlsConfig = config
	}
	var name, password string
	if access.User != "" {
		parts := strings.SplitN(access.User, ":", 2)
		name, password = parts[0], parts[1]
	}
	// clientv3 logs each retry as a warning; the run reports failures itself, on one line.
	quiet := zap.NewProductionConfig()
	quiet.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	clients := make([]*clientv3.Client, 0, n)
	for i := 0; i < n; i++ {
		endpoint := access.Endpoints[i%len(access.Endpoints)]
		client, err := clientv3.New(clientv3.Config{
			Endpoints:   []string{endpoint},
			DialTimeout: dialTimeout,
			TLS:         tlsConfig,
			Username:    name,
			Password:    password,
			LogConfig:   &quiet,
		})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
			_, err = client.Get(ctx, "detcd-go-bench-probe", clientv3.WithSerializable())
			cancel()
			if err != nil {
				client.Close()
			}
		}
		if err != nil {
			for _, c := range clients {
				c.Close()
			}
			return nil, fmt.Errorf("connecting to %s: %v", endpoint, err)
		}
		clients = append(clients, client)
	}
	return clients, nil
}

// send is one request of a put, range or txn workload. The txn compares version(key) != -1,
// which always holds, then puts the key: one comparison and one write, as detcd-bench's txn.
func send(client *clientv3.Client, workload, key, value string) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	switch workload {
	case "put":
		_, err := client.Put(ctx, key, value)
		return err
	case "range-l":
		_, err := client.Get(ctx, key)
		return err
	case "range-s":
		_, err := client.Get(ctx, key, clientv3.WithSerializable())
		return err
	case "txn":
		reply, err := client.Txn(ctx).
			If(clientv3.Compare(clientv3.Version(key), "!=", -1)).
			Then(clientv3.OpPut(key, value)).
			Commit()
		if err == nil && !reply.Succeeded {
			err = fmt.Errorf("txn comparison failed: version(key) was -1")
		}
		return err
	}
	return fmt.Errorf("unknown workload %q", workload)
}

// watchLoop watches its own key, then puts it over and over; a request's latency runs from
// sending the put to receiving an event at or past the put's revision (detcd-bench's watch).
func watchLoop(client *clientv3.Client, key, value string, until time.Time, r *recorder) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := client.Watch(clientv3.WithRequireLeader(ctx), key)
	seen := int64(0)
	for time.Now().Before(until) {
		begun := time.Now()
		putCtx, putCancel := context.WithTimeout(ctx, requestTimeout)
		reply, err := client.Put(putCtx, key, value)
		putCancel()
		if err != nil {
			r.failure(err)
			continue
		}
		want := reply.Header.Revision
		timeout := time.After(requestTimeout)
		for seen < want && err == nil {
			select {
			case response, open := <-events:
				switch {
				case !open:
					err = fmt.Errorf("the watch closed")
				case response.Err() != nil:
					err = response.Err()
				}
				for _, event := range response.Events {
					if event.Kv.ModRevision > seen {
						seen = event.Kv.ModRevision
					}
				}
			case <-timeout:
				err = fmt.Errorf("timed out waiting for revision %d", want)
			}
		}
		if err != nil {
			r.failure(err)
			return
		}
		r.success(time.Since(begun))
	}
}
