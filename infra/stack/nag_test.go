package stack

import (
	"fmt"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
)

// TestNagAwsSolutions: the AwsSolutions pack leaves no unsuppressed error or
// warning on the dev and prod variants.
func TestNagAwsSolutions(t *testing.T) {
	for name, ctx := range map[string]map[string]any{"dev": devCtx, "prod": prodCtx} {
		st := synth(t, ctx).Stack
		ann := assertions.Annotations_FromStack(st.Stack)
		for _, kind := range []string{"error", "warning"} {
			var found int
			var msgs []string
			find := ann.FindError
			if kind == "warning" {
				find = ann.FindWarning
			}
			for _, m := range *find(str("*"), assertions.Match_StringLikeRegexp(str("AwsSolutions-.*"))) {
				found++
				msgs = append(msgs, fmt.Sprint(*m.Id, ": ", m.Entry.Data))
			}
			if found > 0 {
				t.Errorf("%s: %d cdk-nag %ss:\n%v", name, found, kind, msgs)
			}
		}
	}
}

// TestNagSuppressionsAreNarrow: a grant the design does not explain (a
// wildcard action on the table) is still reported, so the suppressions only
// cover what their reasons describe.
func TestNagSuppressionsAreNarrow(t *testing.T) {
	ctx := map[string]any{"assetDir": fakeAssets(t)}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	s, err := SettingsFromContext(app.Node())
	if err != nil {
		t.Fatal(err)
	}
	st := New(app, s)
	st.Functions.ByRoute["get-deployment"].AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: strs("dynamodb:*"), Resources: &[]*string{st.Data.Table.TableArn()},
	}))
	Nag(app)
	errs := assertions.Annotations_FromStack(st.Stack).FindError(str("*"), assertions.Match_StringLikeRegexp(str("AwsSolutions-IAM5.*")))
	if len(*errs) != 1 {
		t.Fatalf("want exactly one IAM5 error for the added wildcard, got %d", len(*errs))
	}
	if path := *(*errs)[0].Id; path != "/Onvera-dev/Functions/get-deployment/Function/ServiceRole/DefaultPolicy/Resource" {
		t.Errorf("IAM5 reported on %s", path)
	}
}
