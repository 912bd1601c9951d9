package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/onvera/deployments/pkg/client"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printDeployment prints one deployment as a detailed block or a JSON object.
func printDeployment(c *apiCmd, d client.Deployment) error {
	if *c.output == "json" {
		return writeJSON(c.stdout, d)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID:\t%s\nNAME:\t%s\nAPP:\t%s\nSTATUS:\t%s\nURL:\t%s\nENVIRONMENT:\t%s\nCREATED:\t%s\n",
		d.ID, d.Name, d.AppType, d.Status, orDash(d.URL), d.EnvironmentID, d.CreatedAt.UTC().Format(time.RFC3339))
	if d.Links.Operation != nil {
		fmt.Fprintf(tw, "OPERATION:\t%s\n", *d.Links.Operation)
	}
	return tw.Flush()
}

// printDeployments prints deployments as a table, one line each, or as a
// JSON array.
func printDeployments(c *apiCmd, ds []client.Deployment, p *client.Pagination) error {
	if *c.output == "json" {
		return writeJSON(c.stdout, ds)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tAPP\tSTATUS\tURL\tCREATED")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, d.AppType, d.Status, orDash(d.URL), d.CreatedAt.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p != nil && p.Pages > 1 {
		fmt.Fprintf(c.stdout, "\nPage %d of %d (%d deployments). --page N for another, --all for every page.\n", p.Page, p.Pages, p.Total)
	}
	return nil
}

func printOperation(c *apiCmd, op client.Operation) error {
	if *c.output == "json" {
		return writeJSON(c.stdout, op)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	completed := "-"
	if op.CompletedAt != nil {
		completed = op.CompletedAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(tw, "ID:\t%s\nTYPE:\t%s\nSTATUS:\t%s\nDEPLOYMENT:\t%s\nCREATED:\t%s\nUPDATED:\t%s\nCOMPLETED:\t%s\n",
		op.ID, op.Type, op.Status, op.DeploymentID, op.CreatedAt.UTC().Format(time.RFC3339),
		op.UpdatedAt.UTC().Format(time.RFC3339), completed)
	if op.Error != nil {
		fmt.Fprintf(tw, "ERROR:\t%s: %s\n", op.Error.Code, op.Error.Message)
	}
	return tw.Flush()
}

func printAccepted(c *apiCmd, a client.Accepted) error {
	if *c.output == "json" {
		return writeJSON(c.stdout, a)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "DEPLOYMENT:\t%s\nOPERATION:\t%s\n", a.DeploymentID, a.OperationID)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\nAccepted. Follow it with: onvera operations get %s --wait\n", a.OperationID)
	return nil
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}
