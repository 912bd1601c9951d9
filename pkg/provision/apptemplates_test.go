package provision_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/onvera/deployments/pkg/deployment"
	"github.com/onvera/deployments/pkg/provision/cfn"
	"github.com/onvera/deployments/pkg/provision/cfn/templates"
	"github.com/onvera/deployments/pkg/testenv"
)

// testCertificateARN stands in for the ACM certificate ONVERA_CFN_PARAMETERS
// passes; the emulator does not look it up.
const testCertificateARN = "arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-000000000000"

// TestAppTemplatesOnEmulator deploys the embedded Airflow and Superset
// templates (infra/apps, `make templates`) through the real driver: create to
// ready with the URL from the Url output, then delete to destroyed with the
// stack gone. It logs what the emulator did per resource type.
func TestAppTemplatesOnEmulator(t *testing.T) {
	bodies, err := templates.For()
	if err != nil {
		t.Fatal(err)
	}
	dns := route53.NewFromConfig(testenv.AWSConfig(t))
	zone, err := dns.CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: aws.String("example.test"), CallerReference: aws.String(t.Name() + time.Now().String()),
	})
	if err != nil {
		t.Fatal(err)
	}
	zoneID := strings.TrimPrefix(aws.ToString(zone.HostedZone.Id), "/hostedzone/")
	for _, app := range []deployment.AppType{deployment.Airflow, deployment.Superset} {
		t.Run(string(app), func(t *testing.T) {
			s, client, _ := cfnSetup(t, cfn.Driver{
				Templates:  bodies,
				Parameters: map[string]string{"CertificateArn": testCertificateARN, "HostedZoneId": zoneID},
				Timeout:    3 * time.Minute,
			})
			ctx := context.Background()
			acc, err := s.svc.Create(ctx, "org", deployment.CreateInput{AppType: app}, nil)
			if err != nil {
				t.Fatal(err)
			}
			op := s.drive(t, "org", acc.OperationID, 3*time.Minute)
			d, _ := s.app.Store.GetDeployment(ctx, "org", acc.DeploymentID)
			name := cfn.StackName(d)
			logStackResources(t, client, name)
			want := deployment.URLFor(d, "example.test")
			if op.Status != deployment.OpSucceeded || d.Status != deployment.Ready || d.URL != want {
				t.Fatalf("create: %s %+v; deployment %s %q (want %q)", op.Status, op.Error, d.Status, d.URL, want)
			}
			out, err := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
			if err != nil || len(out.Stacks) != 1 {
				t.Fatalf("stack: %v", err)
			}
			for _, o := range out.Stacks[0].Outputs {
				if aws.ToString(o.OutputKey) == cfn.OutputURL && aws.ToString(o.OutputValue) != want {
					t.Errorf("Url output %q, want %q", aws.ToString(o.OutputValue), want)
				}
			}

			host := strings.TrimPrefix(want, "https://")
			if alias := aliasOf(t, dns, zoneID, host); alias == "" {
				t.Fatalf("no alias record for %s in the hosted zone", host)
			} else {
				t.Logf("%s is an alias of %s", host, alias)
			}

			del, err := s.svc.Delete(ctx, "org", d.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			op = s.drive(t, "org", del.OperationID, 3*time.Minute)
			d, _ = s.app.Store.GetDeployment(ctx, "org", d.ID)
			if op.Status != deployment.OpSucceeded || d.Status != deployment.Destroyed || !stackGone(t, client, name) {
				t.Fatalf("delete: %s %+v; deployment %s", op.Status, op.Error, d.Status)
			}
			if alias := aliasOf(t, dns, zoneID, host); alias != "" {
				t.Fatalf("alias record for %s left behind", host)
			}
		})
	}
}

// aliasOf is the alias target of host's A record in the zone, or "".
func aliasOf(t *testing.T, dns *route53.Client, zoneID, host string) string {
	out, err := dns.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range out.ResourceRecordSets {
		if strings.TrimSuffix(aws.ToString(rs.Name), ".") == host && rs.Type == "A" && rs.AliasTarget != nil {
			return aws.ToString(rs.AliasTarget.DNSName)
		}
	}
	return ""
}

// logStackResources logs each resource type's count and status (and the
// first failure reasons), so a run shows what the emulator did.
func logStackResources(t *testing.T, c *cloudformation.Client, name string) {
	t.Helper()
	out, err := c.ListStackResources(context.Background(), &cloudformation.ListStackResourcesInput{StackName: aws.String(name)})
	if err != nil {
		t.Logf("list stack resources: %v", err)
		return
	}
	byType := map[string]int{}
	var lines []string
	for _, r := range out.StackResourceSummaries {
		key := fmt.Sprintf("%s %s", aws.ToString(r.ResourceType), r.ResourceStatus)
		byType[key]++
		if reason := aws.ToString(r.ResourceStatusReason); strings.HasSuffix(string(r.ResourceStatus), "FAILED") && reason != "" {
			lines = append(lines, fmt.Sprintf("  %s (%s): %s", aws.ToString(r.LogicalResourceId), aws.ToString(r.ResourceType), reason))
		}
	}
	for k, n := range byType {
		lines = append(lines, fmt.Sprintf("%3d× %s", n, k))
	}
	sort.Strings(lines)
	t.Logf("stack %s resources:\n%s", name, strings.Join(lines, "\n"))
}
