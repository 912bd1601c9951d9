package apps

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/onvera/deployments/infra/internal/lint"
)

// TestMain silences jsii's banner about Node 20 before the first jsii call.
func TestMain(m *testing.M) {
	lint.QuietJSII()
	os.Exit(m.Run())
}

var (
	synthOnce sync.Once
	bodies    map[string][]byte
	synthErr  error
)

// synthesized synthesizes every app's stack once per test binary.
func synthesized(t *testing.T) map[string][]byte {
	t.Helper()
	synthOnce.Do(func() { bodies, synthErr = SynthAll() })
	if synthErr != nil {
		t.Fatal(synthErr)
	}
	return bodies
}

func committed(t *testing.T, app string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lint.ModuleRoot(t), "pkg", "provision", "cfn", "templates", app+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCommittedTemplatesAreCurrent: the embedded templates are exactly what
// the constructs synthesize.
func TestCommittedTemplatesAreCurrent(t *testing.T) {
	for app, body := range synthesized(t) {
		if !bytes.Equal(committed(t, app), body) {
			t.Errorf("pkg/provision/cfn/templates/%s.json is out of date: run `make templates`", app)
		}
	}
}

type tmpl struct {
	Parameters map[string]map[string]any
	Resources  map[string]struct {
		Type           string
		Properties     map[string]any
		DeletionPolicy string
	}
	Outputs map[string]map[string]any
}

func (tp tmpl) ofType(typ string) []map[string]any {
	var out []map[string]any
	for _, r := range tp.Resources {
		if r.Type == typ {
			out = append(out, r.Properties)
		}
	}
	return out
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestTemplateProperties(t *testing.T) {
	for _, a := range Apps {
		app := string(a.Type)
		t.Run(app, func(t *testing.T) {
			body := synthesized(t)[app]
			if len(body) >= MaxTemplateBytes {
				t.Errorf("%d bytes, TemplateBody limit %d", len(body), MaxTemplateBytes)
			}
			var tp tmpl
			if err := json.Unmarshal(body, &tp); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{ParamDeploymentID, ParamOrganizationID, ParamHostname, ParamCertificateARN, ParamHostedZoneID} {
				if tp.Parameters[p]["Type"] != "String" {
					t.Errorf("parameter %s missing", p)
				}
			}
			if len(tp.Parameters) != 5 {
				t.Errorf("parameters %v: the driver passes only these five", tp.Parameters)
			}
			// The hostname resolves to the load balancer: an alias A record in the given zone.
			dns := tp.ofType("AWS::Route53::RecordSet")
			if len(dns) != 1 || js(dns[0]["HostedZoneId"]) != `{"Ref":"HostedZoneId"}` ||
				js(dns[0]["Name"]) != `{"Ref":"Hostname"}` || dns[0]["Type"] != "A" ||
				!strings.Contains(js(dns[0]["AliasTarget"]), `"CanonicalHostedZoneID"`) {
				t.Errorf("DNS record %v", dns)
			}
			if got := js(tp.Outputs["Url"]["Value"]); got != `{"Fn::Join":["",["https://",{"Ref":"Hostname"}]]}` {
				t.Errorf("Url output %s", got)
			}
			for id, r := range tp.Resources {
				if strings.HasPrefix(r.Type, "AWS::CDK::") || strings.HasPrefix(r.Type, "Custom::") || r.Type == "AWS::Lambda::Function" {
					t.Errorf("%s: %s needs assets or a bootstrap", id, r.Type)
				}
				if r.Type == "AWS::EC2::NatGateway" || r.Type == "AWS::EC2::SecurityGroupIngress" || r.Type == "AWS::EC2::SecurityGroupEgress" {
					t.Errorf("%s: %s (design: no NAT, inline rules)", id, r.Type)
				}
			}
			if strings.Contains(string(body), "cdk-bootstrap") || strings.Contains(string(body), "BootstrapVersion") {
				t.Error("template references the CDK bootstrap")
			}

			svc := tp.ofType("AWS::ECS::Service")
			if len(svc) != 1 || svc[0]["LaunchType"] != "FARGATE" || js(svc[0]["LoadBalancers"]) == "null" {
				t.Errorf("service: %s", js(svc))
			}
			tasks := tp.ofType("AWS::ECS::TaskDefinition")
			if len(tasks) != 1 || js(tasks[0]["RequiresCompatibilities"]) != `["FARGATE"]` {
				t.Fatalf("task: %s", js(tasks))
			}
			defs := js(tasks[0]["ContainerDefinitions"])
			if !strings.Contains(defs, `"Image":"`+a.Image+`"`) {
				t.Errorf("image %s not pinned in %s", a.Image, defs)
			}
			secretsIn := 0
			for _, c := range tasks[0]["ContainerDefinitions"].([]any) {
				cd := c.(map[string]any)
				for _, s := range cd["Secrets"].([]any) {
					secretsIn++
					if !strings.Contains(js(s), "Ref") {
						t.Errorf("secret %s not from Secrets Manager", js(s))
					}
				}
				if !strings.Contains(js(cd["LogConfiguration"]), "awslogs") {
					t.Errorf("container %v logs %s", cd["Name"], js(cd["LogConfiguration"]))
				}
				if e := js(cd["Environment"]); strings.Contains(strings.ToLower(e), "password\",\"value") {
					t.Errorf("a password in plain environment: %s", e)
				}
			}
			if secretsIn == 0 || !strings.Contains(defs, `"Hostname"`) {
				t.Errorf("containers lack secrets or the hostname: %s", defs)
			}

			db := tp.ofType("AWS::RDS::DBInstance")
			if len(db) != 1 || db[0]["Engine"] != "postgres" || db[0]["StorageEncrypted"] != true || db[0]["PubliclyAccessible"] != false ||
				db[0]["DBInstanceClass"] != "db."+DBInstanceClass || !strings.Contains(js(db[0]["MasterUserPassword"]), "resolve:secretsmanager") {
				t.Errorf("database: %s", js(db))
			}
			wantSecrets := 3 // database, admin, app key
			if a.Type == "airflow" {
				wantSecrets++ // the Fernet key's seed
				airflowFernet(t, tp, tasks[0])
			}
			if n := len(tp.ofType("AWS::SecretsManager::Secret")); n != wantSecrets {
				t.Errorf("%d secrets, want %d", n, wantSecrets)
			}

			var https, redirect bool
			for _, l := range tp.ofType("AWS::ElasticLoadBalancingV2::Listener") {
				switch l["Port"] {
				case 443.0:
					https = l["Protocol"] == "HTTPS" && js(l["Certificates"]) == `[{"CertificateArn":{"Ref":"CertificateArn"}}]`
				case 80.0:
					redirect = strings.Contains(js(l["DefaultActions"]), `"Protocol":"HTTPS","StatusCode":"HTTP_301"`)
				}
			}
			if !https || !redirect {
				t.Errorf("listeners: https %v, redirect %v: %s", https, redirect, js(tp.ofType("AWS::ElasticLoadBalancingV2::Listener")))
			}
			lb := tp.ofType("AWS::ElasticLoadBalancingV2::LoadBalancer")
			if len(lb) != 1 || lb[0]["Scheme"] != "internet-facing" {
				t.Errorf("load balancer: %s", js(lb))
			}
			for _, lg := range tp.ofType("AWS::Logs::LogGroup") {
				if lg["RetentionInDays"] == nil {
					t.Errorf("log group without retention")
				}
			}
			for _, typ := range []string{"AWS::EC2::VPC", "AWS::ECS::Service", "AWS::RDS::DBInstance", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"} {
				for _, p := range tp.ofType(typ) {
					tags := js(p["Tags"])
					if !strings.Contains(tags, `{"Key":"onvera:deployment","Value":{"Ref":"DeploymentId"}}`) ||
						!strings.Contains(tags, `{"Key":"onvera:organization","Value":{"Ref":"OrganizationId"}}`) {
						t.Errorf("%s tags %s", typ, tags)
					}
				}
			}
			for id, r := range tp.Resources {
				if (r.Type == "AWS::RDS::DBInstance" || r.Type == "AWS::SecretsManager::Secret" || r.Type == "AWS::Logs::LogGroup") && r.DeletionPolicy != "Delete" {
					t.Errorf("%s: DeletionPolicy %q: destroying a deployment removes everything", id, r.DeletionPolicy)
				}
			}
		})
	}
}

// airflowFernet: every Airflow container gets the Fernet key's seed from a
// generated secret of 43 base64url digits, and its start script turns it
// into AIRFLOW__CORE__FERNET_KEY.
func airflowFernet(t *testing.T, tp tmpl, task map[string]any) {
	t.Helper()
	seeds := 0
	for _, sec := range tp.ofType("AWS::SecretsManager::Secret") {
		g := js(sec["GenerateSecretString"])
		if strings.Contains(g, `"PasswordLength":43`) && strings.Contains(g, `"ExcludePunctuation":true`) && strings.Contains(g, `"IncludeSpace":false`) {
			seeds++
		}
	}
	if seeds != 1 {
		t.Errorf("want one secret of 43 alphanumerics for the Fernet key, got %d", seeds)
	}
	for _, c := range task["ContainerDefinitions"].([]any) {
		cd := c.(map[string]any)
		if !strings.Contains(js(cd["Secrets"]), `"Name":"`+fernetSeedVar+`"`) ||
			!strings.Contains(js(cd["Command"]), `AIRFLOW__CORE__FERNET_KEY=\"${`+fernetSeedVar+`}=\"`) {
			t.Errorf("container %v: no Fernet key: command %s secrets %s", cd["Name"], js(cd["Command"]), js(cd["Secrets"]))
		}
	}
}

// TestCfnLint runs cfn-lint from .venv (as infra/stack does) on the committed
// templates: no errors. Known warning: W3691 on EngineVersion "16"; RDS takes
// a major version and picks its default minor, which a pinned minor (retired
// by RDS about yearly) would turn into failing deployments.
func TestCfnLint(t *testing.T) {
	var files []string
	for _, a := range Apps {
		files = append(files, filepath.Join(lint.ModuleRoot(t), "pkg", "provision", "cfn", "templates", string(a.Type)+".json"))
	}
	lint.CfnLint(t, files...)
}
