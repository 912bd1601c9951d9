package client

import (
	"context"
	"iter"
)

// Deployments iterates over every deployment of the organization, newest
// first, fetching perPage at a time (0 means 100, the maximum). It stops at
// the first error, which it yields. Pages are offsets, so a deployment created
// while iterating shifts later pages; the iterator skips ids it has already
// yielded, so nothing is seen twice.
//
//	for d, err := range c.Deployments(ctx, 0) {
//		if err != nil { return err }
//		fmt.Println(d.ID)
//	}
func (c *Client) Deployments(ctx context.Context, perPage int) iter.Seq2[Deployment, error] {
	if perPage <= 0 {
		perPage = 100
	}
	return func(yield func(Deployment, error) bool) {
		seen := map[string]bool{}
		for page := 1; ; page++ {
			p, err := c.ListDeployments(ctx, ListOptions{Page: page, PerPage: perPage})
			if err != nil {
				yield(Deployment{}, err)
				return
			}
			for _, d := range p.Items {
				if seen[d.ID] {
					continue
				}
				seen[d.ID] = true
				if !yield(d, nil) {
					return
				}
			}
			if len(p.Items) == 0 || int64(page) >= p.Pagination.Pages {
				return
			}
		}
	}
}
