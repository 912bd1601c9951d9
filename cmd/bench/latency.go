package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/onvera/deployments/pkg/dynamostore"
	"github.com/onvera/deployments/pkg/localgw"
)

// latency: section 4, the local gateway's get and list against the raw
// DynamoDB call on the same emulator, at concurrency 1 and 16.
func (b *bench) latency(ctx context.Context) error {
	const sec = "4 gateway"
	a, err := b.newApp(ctx, "latency")
	if err != nil {
		return err
	}
	const org, size, perPage = "org_latency", 200, 20
	if _, _, err := b.seed(ctx, a, org, size); err != nil {
		return err
	}
	secret, err := mintKey(ctx, a, org)
	if err != nil {
		return err
	}
	base, stop, err := (&localgw.Gateway{App: a}).Start(ctx)
	if err != nil {
		return err
	}
	defer stop()

	// One deployment to get: the newest, seq = size.
	table := a.Config.Table
	pk := &types.AttributeValueMemberS{Value: "ORG#" + org}
	newest, err := itemAtSeq(ctx, a, org, size)
	if err != nil {
		return fmt.Errorf("finding a deployment: %w", err)
	}
	sk := newest["SK"].(*types.AttributeValueMemberS).Value
	id := sk[len("DEP#"):]

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64}}
	httpGet := func(path string) func(context.Context) error {
		return func(ctx context.Context) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			req.Header.Set("X-API-Key", secret)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %d", path, resp.StatusCode)
			}
			return nil
		}
	}
	// The raw calls are the ones the store makes, with the same consistency.
	rawGet := func(ctx context.Context) error {
		_, err := a.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: &table, ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"PK": pk, "SK": &types.AttributeValueMemberS{Value: sk}},
		})
		return err
	}
	rawQuery := func(ctx context.Context) error {
		_, err := a.DynamoDB.Query(ctx, &dynamodb.QueryInput{
			TableName: &table, IndexName: aws.String(dynamostore.IndexBySeq), ConsistentRead: aws.Bool(true),
			KeyConditionExpression: aws.String("PK = :pk AND seq BETWEEN :lo AND :hi"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": pk,
				":lo": &types.AttributeValueMemberN{Value: strconv.Itoa(size - perPage + 1)}, ":hi": &types.AttributeValueMemberN{Value: strconv.Itoa(size)}},
			ScanIndexForward: aws.Bool(false), Limit: aws.Int32(perPage),
		})
		return err
	}
	type pair struct {
		name     string
		raw, api func(context.Context) error
		rawName  string
	}
	pairs := []pair{
		{"get deployment", rawGet, httpGet("/api/v1/deployments/" + id), "GetItem"},
		{fmt.Sprintf("list page 1, per_page=%d", perPage), rawQuery, httpGet(fmt.Sprintf("/api/v1/deployments?page=1&per_page=%d", perPage)), "Query"},
	}
	// Warm connections, caches and the emulator.
	for _, p := range pairs {
		if _, err := measure(ctx, p.raw, 16, 200); err != nil {
			return err
		}
		if _, err := measure(ctx, p.api, 16, 200); err != nil {
			return err
		}
	}
	const rounds = 4
	for _, conc := range []int{1, 16} {
		for _, p := range pairs {
			// Alternate raw and gateway in rounds, so both see the same drift.
			var raw, api result
			for range rounds {
				r, err := measure(ctx, p.raw, conc, b.o.latencyN/rounds)
				if err != nil {
					return err
				}
				g, err := measure(ctx, p.api, conc, b.o.latencyN/rounds)
				if err != nil {
					return err
				}
				raw.merge(r)
				api.merge(g)
			}
			rp50, rp99 := raw.q(0.5), raw.q(0.99)
			gp50, gp99 := api.q(0.5), api.q(0.99)
			ratio := gp50 / rp50
			b.add(sec, fmt.Sprintf("%s, c=%d: gateway vs raw %s p50", p.name, conc, p.rawName),
				fmt.Sprintf("%.2fx (gateway p50 %.2f / p99 %.2f ms, %.0f req/s; raw p50 %.2f / p99 %.2f ms, %.0f req/s; p99 %.2fx)",
					ratio, gp50, gp99, api.rps(), rp50, rp99, raw.rps(), gp99/rp99),
				"≤ 1.3x", ratio <= 1.3)
		}
	}
	b.note("Gateway overhead: %d requests per cell over loopback HTTP with keep-alive to the local gateway (cmd/localgw's server: the route handler with authentication from a warm key cache, JSON views and a JSON access log line per request, its queue pollers running), alternated in %d rounds with the same DynamoDB call made raw through the same SDK client on the same emulator (ConsistentRead as the store reads). The list serves page 1 of a %d-deployment organization, which costs the page's Query plus the counter GetItem; its baseline is the page's Query alone.", b.o.latencyN, rounds, size)
	return nil
}

type result struct {
	lat  []float64 // ms
	wall time.Duration
}

func (r *result) merge(o result) { r.lat = append(r.lat, o.lat...); r.wall += o.wall }
func (r *result) q(q float64) float64 {
	return quantile(r.lat, q)
}
func (r *result) rps() float64 { return float64(len(r.lat)) / r.wall.Seconds() }

// measure runs n calls of f from conc workers and returns each call's latency.
func measure(ctx context.Context, f func(context.Context) error, conc, n int) (result, error) {
	var (
		mu    sync.Mutex
		lat   = make([]float64, 0, n)
		next  = make(chan struct{}, n)
		first error
		wg    sync.WaitGroup
	)
	for range n {
		next <- struct{}{}
	}
	close(next)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for range next {
				t := time.Now()
				err := f(ctx)
				d := float64(time.Since(t).Microseconds()) / 1000
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return result{lat: lat, wall: time.Since(start)}, first
}
