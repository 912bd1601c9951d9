package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/onvera/deployments/pkg/app"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/localgw"
)

// pipeline: section 5, POST to ready with zero simulated delay, and the time
// to drain a backlog of queued creates.
func (b *bench) pipeline(ctx context.Context) error {
	const sec = "5 pipeline"
	a, err := b.newApp(ctx, "pipeline")
	if err != nil {
		return err
	}
	secret, err := mintKey(ctx, a, "org_pipeline")
	if err != nil {
		return err
	}
	base, stop, err := (&localgw.Gateway{App: a}).Start(ctx)
	if err != nil {
		return err
	}
	defer stop() // on an early return; the drain below needs it stopped first
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	do := func(method, path, body string) (int, []byte, error) {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		req.Header.Set("X-API-Key", secret)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		return resp.StatusCode, out, err
	}
	const poll = 5 * time.Millisecond
	var lat []float64
	progress("pipeline: %d deployments, POST to ready, one at a time", b.o.pipelineN)
	for i := range b.o.pipelineN {
		t := time.Now()
		code, out, err := do(http.MethodPost, "/api/v1/deployments", `{"app_type":"airflow"}`)
		if err != nil || code != http.StatusAccepted {
			return fmt.Errorf("create %d: %v %d %s", i, err, code, out)
		}
		var c created
		_ = json.Unmarshal(out, &c)
		for {
			code, out, err := do(http.MethodGet, "/api/v1/deployments/"+c.Data.DeploymentID, "")
			if err != nil || code != http.StatusOK {
				return fmt.Errorf("get %d: %v %d %s", i, err, code, out)
			}
			var v struct {
				Data struct {
					Status string `json:"status"`
				} `json:"data"`
			}
			_ = json.Unmarshal(out, &v)
			if v.Data.Status == string(deployment.Ready) {
				break
			}
			if v.Data.Status != string(deployment.Provisioning) || time.Since(t) > time.Minute {
				return fmt.Errorf("deployment %s: status %q after %s", c.Data.DeploymentID, v.Data.Status, time.Since(t))
			}
			time.Sleep(poll)
		}
		lat = append(lat, float64(time.Since(t).Microseconds())/1000)
	}
	stop()
	b.info(sec, fmt.Sprintf("POST to ready, %d deployments one at a time (delay 0)", b.o.pipelineN),
		fmt.Sprintf("p50 %.1f ms, p99 %.1f ms", quantile(lat, 0.5), quantile(lat, 0.99)))

	// Drain: queue creates with no poller running, then start the gateway and
	// time until every one is ready.
	const orgs = 4
	progress("pipeline: queueing %d creates with the pollers stopped", b.o.drainN)
	h := a.Server.Handler()
	var wg sync.WaitGroup
	errs := make(chan error, orgs)
	per := (b.o.drainN + orgs - 1) / orgs
	for o := range orgs {
		wg.Go(func() {
			org := fmt.Sprintf("org_drain_%d", o)
			sk, err := mintKey(ctx, a, org)
			if err != nil {
				errs <- err
				return
			}
			for i := o * per; i < min((o+1)*per, b.o.drainN); i++ {
				if code, out, _ := serve(h, http.MethodPost, "/api/v1/deployments", sk, `{"app_type":"superset"}`); code != http.StatusAccepted {
					errs <- fmt.Errorf("queue create: %d %s", code, out)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	t := time.Now()
	_, stopDrain, err := (&localgw.Gateway{App: a}).Start(ctx)
	if err != nil {
		return err
	}
	defer stopDrain()
	for {
		ready := 0
		for o := range orgs {
			n, err := countReady(ctx, a, fmt.Sprintf("org_drain_%d", o))
			if err != nil {
				return err
			}
			ready += n
		}
		if ready >= b.o.drainN {
			break
		}
		if time.Since(t) > 10*time.Minute {
			return fmt.Errorf("drain: %d of %d ready after %s", ready, b.o.drainN, time.Since(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(t)
	b.info(sec, fmt.Sprintf("drain %s queued creates (local gateway, 2 pollers × batches of 10)", thousands(b.o.drainN)),
		fmt.Sprintf("%s (%.0f deployments/s)", took.Round(10*time.Millisecond), float64(b.o.drainN)/took.Seconds()))
	b.note("Pipeline: POST then GET every %s until ready, one deployment at a time, through the local gateway (queue long-polled by 2 pollers, as 2 concurrent Lambda batches would be). The drain queues its creates with the pollers stopped, then starts the gateway and counts ready deployments every 100 ms (with the store's list, outside the measured pollers).", poll)
	return nil
}

func countReady(ctx context.Context, a *app.App, org string) (int, error) {
	n := 0
	for page := 1; ; page++ {
		p, err := a.Store.ListDeployments(ctx, org, page, deployment.MaxPerPage)
		if err != nil {
			return 0, err
		}
		for _, d := range p.Items {
			if d.Status == deployment.Ready {
				n++
			}
		}
		if int64(page) >= p.Pages() {
			return n, nil
		}
	}
}
