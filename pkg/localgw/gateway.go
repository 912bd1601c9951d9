package localgw

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/onvera/deployments/pkg/app"
)

// Gateway serves the API and runs the provisioner in-process, as API Gateway,
// the SQS event source mappings and the EventBridge schedule do in AWS.
type Gateway struct {
	App       *app.App
	Listener  net.Listener
	Workers   int           // concurrent queue pollers (like Lambda concurrency); default 2
	Reconcile time.Duration // reconciler interval; default StaleAfter/2
}

// Start runs the gateway in the background, on a free loopback port when it
// has no Listener, and returns its base URL and a stop function that shuts
// it down and waits; calling stop again does nothing.
func (g *Gateway) Start(ctx context.Context) (string, func(), error) {
	if g.Listener == nil {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		g.Listener = l
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Run(ctx)
	}()
	var once sync.Once
	return "http://" + g.Listener.Addr().String(), func() { once.Do(func() { cancel(); <-done }) }, nil
}

// Run serves until ctx is cancelled, then drains and returns.
func (g *Gateway) Run(ctx context.Context) error {
	srv := &http.Server{Handler: g.App.Server.Handler(), ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := g.Workers
	if workers <= 0 {
		workers = 2
	}
	cfg := g.App.Config
	for range workers {
		wg.Go(func() { g.poll(bg, cfg.QueueURL, queueARN(cfg.QueueURL)) })
	}
	if cfg.DLQURL != "" {
		wg.Go(func() { g.poll(bg, cfg.DLQURL, cfg.DLQARN) })
	}
	wg.Go(func() { g.reconcile(bg) })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(g.Listener) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	}
	shut, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	err := srv.Shutdown(shut)
	wg.Wait()
	return err
}

// queueARN only needs to differ from the DLQ's: the provisioner uses the
// source ARN solely to recognise dead letters.
func queueARN(url string) string { return "local:" + url }

// poll behaves like an SQS event source mapping: receive a batch, hand it to
// the provisioner, delete what it did not report as failed.
func (g *Gateway) poll(ctx context.Context, url, arn string) {
	client := g.App.SQS
	log := g.App.Log
	backoff := time.Second
	for ctx.Err() == nil {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("receive failed; retrying", "queue", url, "err", err)
				sleep(ctx, backoff)
				backoff = min(backoff*2, 10*time.Second)
			}
			continue
		}
		backoff = time.Second
		if len(out.Messages) == 0 {
			continue
		}
		ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(out.Messages))}
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), EventSource: "aws:sqs", EventSourceARN: arn, Attributes: m.Attributes,
			})
		}
		resp, _ := g.App.Provisioner.HandleSQS(ctx, ev)
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for _, m := range out.Messages {
			if !failed[aws.ToString(m.MessageId)] {
				del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle})
			}
		}
		if len(del) > 0 {
			// A failed delete means a redelivery, which the provisioner tolerates.
			if _, err := client.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del}); err != nil {
				log.Warn("delete failed; messages will be redelivered", "err", err)
			}
		}
	}
}

func (g *Gateway) reconcile(ctx context.Context) {
	every := g.Reconcile
	if every <= 0 {
		every = max(g.App.Config.StaleAfter/2, time.Second)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := g.App.Provisioner.Reconcile(ctx); err != nil && !errors.Is(err, context.Canceled) {
				g.App.Log.Warn("reconcile failed", "err", err)
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
