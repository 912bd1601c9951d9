package stack

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/onvera/deployments/pkg/config"
	"github.com/onvera/deployments/pkg/dynamostore"
	"github.com/onvera/deployments/pkg/httpapi"
	"github.com/onvera/deployments/pkg/localgw"
)

var (
	devCtx  = map[string]any{"stage": "dev"}
	prodCtx = map[string]any{
		"stage": "prod", "tracing": "false", "arch": "x86_64", "logRetentionDays": 365,
		"customDomain": "api.example.com", "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
		"alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:pager", "baseDomain": "apps.example.com",
	}
)

func TestResourceCounts(t *testing.T) {
	n := len(httpapi.Routes)
	fns := n + 2 // routes + provisioner + reconciler
	want := map[string]int{
		"AWS::DynamoDB::Table":            1,
		"AWS::SQS::Queue":                 2,
		"AWS::SQS::QueuePolicy":           2, // TLS-only
		"AWS::Lambda::Function":           fns,
		"AWS::IAM::Role":                  fns, // one role per function, nothing shared
		"AWS::Logs::LogGroup":             fns + 1,
		"AWS::ApiGatewayV2::Api":          1,
		"AWS::ApiGatewayV2::Stage":        1,
		"AWS::ApiGatewayV2::Route":        n,
		"AWS::ApiGatewayV2::Integration":  n,
		"AWS::Lambda::Permission":         n + 1, // API Gateway per route, EventBridge for the reconciler
		"AWS::Lambda::EventSourceMapping": 2,     // provisioning queue and its DLQ
		"AWS::Events::Rule":               1,
		"AWS::CloudWatch::Alarm":          1 + 2*fns + 1, // DLQ, errors+throttles per function, API 5xx
		"AWS::ApiGatewayV2::DomainName":   0,
		"AWS::ApiGatewayV2::ApiMapping":   0,
	}
	tmpl := synth(t, devCtx).Template
	got := map[string]int{}
	for _, r := range synth(t, devCtx).JSON.Resources {
		got[r.Type]++
	}
	for typ, w := range want {
		check(t, typ, func() { tmpl.ResourceCountIs(str(typ), num(float64(w))) })
		delete(got, typ)
	}
	delete(got, "AWS::IAM::Policy") // one per function that has grants; checked per function below
	if len(got) > 0 {
		t.Errorf("resource types the test does not account for: %v", got)
	}
}

func TestTableMatchesStoreDesign(t *testing.T) {
	tbl := synth(t, devCtx).JSON.ofType("AWS::DynamoDB::Table")
	for _, r := range tbl {
		p := r.Properties
		if p["BillingMode"] != "PAY_PER_REQUEST" {
			t.Errorf("BillingMode = %v", p["BillingMode"])
		}
		if fmt.Sprint(p["PointInTimeRecoverySpecification"]) != "map[PointInTimeRecoveryEnabled:true]" {
			t.Errorf("PITR = %v", p["PointInTimeRecoverySpecification"])
		}
		if fmt.Sprint(p["TimeToLiveSpecification"]) != fmt.Sprintf("map[AttributeName:%s Enabled:true]", dynamostore.AttrExpires) {
			t.Errorf("TTL = %v", p["TimeToLiveSpecification"])
		}
		if got, want := keySchema(p["KeySchema"]), dynamostore.AttrPK+":HASH "+dynamostore.AttrSK+":RANGE"; got != want {
			t.Errorf("KeySchema %q, want %q", got, want)
		}
		lsi := list(p["LocalSecondaryIndexes"])
		if len(lsi) != 1 {
			t.Fatalf("LSIs: %v", lsi)
		}
		l := lsi[0].(map[string]any)
		if l["IndexName"] != dynamostore.IndexBySeq || keySchema(l["KeySchema"]) != dynamostore.AttrPK+":HASH "+dynamostore.AttrSeq+":RANGE" ||
			fmt.Sprint(l["Projection"]) != "map[ProjectionType:ALL]" {
			t.Errorf("LSI %v", l)
		}
		gsi := list(p["GlobalSecondaryIndexes"])
		if len(gsi) != 1 {
			t.Fatalf("GSIs: %v", gsi)
		}
		g := gsi[0].(map[string]any)
		if g["IndexName"] != dynamostore.IndexInFlight || keySchema(g["KeySchema"]) != dynamostore.AttrDuePK+":HASH "+dynamostore.AttrDueAt+":RANGE" ||
			fmt.Sprint(g["Projection"]) != "map[ProjectionType:ALL]" {
			t.Errorf("GSI %v", g)
		}
		types := map[string]string{}
		for _, a := range list(p["AttributeDefinitions"]) {
			m := a.(map[string]any)
			types[m["AttributeName"].(string)] = m["AttributeType"].(string)
		}
		wantTypes := map[string]string{dynamostore.AttrPK: "S", dynamostore.AttrSK: "S", dynamostore.AttrSeq: "N", dynamostore.AttrDuePK: "S", dynamostore.AttrDueAt: "S"}
		if fmt.Sprint(types) != fmt.Sprint(wantTypes) {
			t.Errorf("attribute types %v, want %v", types, wantTypes)
		}
		if _, named := p["TableName"]; named {
			t.Error("table has a hard-coded physical name")
		}
	}
}

func keySchema(v any) string {
	var parts []string
	for _, e := range list(v) {
		m := e.(map[string]any)
		parts = append(parts, fmt.Sprintf("%s:%s", m["AttributeName"], m["KeyType"]))
	}
	return strings.Join(parts, " ")
}

func TestStageDifferences(t *testing.T) {
	cases := []struct {
		name       string
		ctx        map[string]any
		policy     string // DeletionPolicy of data, queues and logs
		protection bool
		arch       string
		tracing    string
		retention  float64
	}{
		{"dev", devCtx, "Delete", false, "arm64", "Active", 30},
		{"prod", prodCtx, "Retain", true, "x86_64", "", 365}, // tracing=false: no TracingConfig
		{"staging marked prod", map[string]any{"stage": "staging", "prod": "true"}, "Retain", true, "arm64", "Active", 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := synth(t, c.ctx).JSON
			for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Logs::LogGroup"} {
				for id, r := range tp.ofType(typ) {
					if r.DeletionPolicy != c.policy || r.UpdateReplace != c.policy {
						t.Errorf("%s %s: DeletionPolicy %q UpdateReplacePolicy %q, want %q", typ, id, r.DeletionPolicy, r.UpdateReplace, c.policy)
					}
				}
			}
			for _, r := range tp.ofType("AWS::DynamoDB::Table") {
				if r.Properties["DeletionProtectionEnabled"] != c.protection {
					t.Errorf("DeletionProtectionEnabled = %v, want %v", r.Properties["DeletionProtectionEnabled"], c.protection)
				}
			}
			for id, r := range tp.ofType("AWS::Lambda::Function") {
				if fmt.Sprint(r.Properties["Architectures"]) != "["+c.arch+"]" {
					t.Errorf("%s Architectures %v, want %s", id, r.Properties["Architectures"], c.arch)
				}
				mode := ""
				if tc, ok := r.Properties["TracingConfig"].(map[string]any); ok {
					mode = fmt.Sprint(tc["Mode"])
				}
				if mode != c.tracing {
					t.Errorf("%s TracingConfig mode %q, want %q", id, mode, c.tracing)
				}
				env := r.Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
				if env[config.EnvStage] != c.ctx["stage"] {
					t.Errorf("%s %s = %v", id, config.EnvStage, env[config.EnvStage])
				}
			}
			for id, r := range tp.ofType("AWS::Logs::LogGroup") {
				if r.Properties["RetentionInDays"] != c.retention {
					t.Errorf("%s RetentionInDays %v, want %v", id, r.Properties["RetentionInDays"], c.retention)
				}
			}
		})
	}
}

func TestFunctions(t *testing.T) {
	tp := synth(t, devCtx).JSON
	for _, name := range FunctionNames() {
		r := tp.Resources[tp.functionID(t, name)]
		p := r.Properties
		if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || p["MemorySize"] != float64(FunctionMemoryMB) {
			t.Errorf("%s: runtime %v handler %v memory %v", name, p["Runtime"], p["Handler"], p["MemorySize"])
		}
		timeout := float64(HTTPTimeoutSeconds)
		if name == ProvisionerName {
			timeout = ProvisionerTimeoutSeconds
		} else if name == ReconcilerName {
			timeout = ReconcilerTimeoutSeconds
		}
		if p["Timeout"] != timeout {
			t.Errorf("%s: timeout %v, want %v", name, p["Timeout"], timeout)
		}
		env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		for k, want := range map[string]any{
			config.EnvBaseDomain: config.DefaultBaseDomain, config.EnvDriver: "simulated",
			config.EnvProvisionDelay: "3s", config.EnvKeyCacheTTL: config.MaxKeyCacheTTL.String(),
		} {
			if env[k] != want {
				t.Errorf("%s: %s = %v, want %v", name, k, env[k], want)
			}
		}
		for k, target := range map[string]string{config.EnvTable: "AWS::DynamoDB::Table", config.EnvQueueURL: "AWS::SQS::Queue", config.EnvDLQARN: "AWS::SQS::Queue", config.EnvDLQURL: "AWS::SQS::Queue"} {
			if tp.Resources[ref(env[k])].Type != target {
				t.Errorf("%s: %s = %v, want a reference to the %s", name, k, env[k], target)
			}
		}
		if ref(env[config.EnvQueueURL]) == ref(env[config.EnvDLQURL]) || ref(env[config.EnvDLQURL]) != ref(env[config.EnvDLQARN]) {
			t.Errorf("%s: queue URL, DLQ URL, DLQ ARN refer to %v %v %v", name, env[config.EnvQueueURL], env[config.EnvDLQURL], env[config.EnvDLQARN])
		}
		lg := p["LoggingConfig"].(map[string]any)["LogGroup"]
		if tp.Resources[ref(lg)].Type != "AWS::Logs::LogGroup" {
			t.Errorf("%s: logs go to %v, not a log group of the stack", name, lg)
		}
	}
}

func TestOneRoutePerRouteTableEntry(t *testing.T) {
	tp := synth(t, devCtx).JSON
	routes := tp.ofType("AWS::ApiGatewayV2::Route")
	byKey := map[string]resource{}
	for _, r := range routes {
		byKey[r.Properties["RouteKey"].(string)] = r
	}
	for _, rt := range httpapi.Routes {
		r, ok := byKey[rt.Method+" "+rt.Path]
		if !ok {
			t.Errorf("no route %s %s", rt.Method, rt.Path)
			continue
		}
		// Target is "integrations/<Ref integration>"; the integration calls functions/<name>.
		join := r.Properties["Target"].(map[string]any)["Fn::Join"].([]any)[1].([]any)
		integ := tp.Resources[ref(join[1])]
		if integ.Properties["IntegrationType"] != "AWS_PROXY" || integ.Properties["PayloadFormatVersion"] != "2.0" {
			t.Errorf("%s: integration %v", rt.Name, integ.Properties)
		}
		if got, want := ref(integ.Properties["IntegrationUri"]), tp.functionID(t, rt.Name); got != want {
			t.Errorf("%s: route invokes %s, want %s", rt.Name, got, want)
		}
	}
	if len(routes) != len(httpapi.Routes) {
		t.Errorf("%d routes in the template, %d in the route table", len(routes), len(httpapi.Routes))
	}
}

// grants collects, per function, its IAM actions and the resources (logical
// ids, or the literal "*") they apply to, from every policy on its role.
func grants(t *testing.T, tp template, fnID string) (actions map[string][]string, managed []string) {
	roleID := ref(tp.Resources[fnID].Properties["Role"])
	actions = map[string][]string{}
	for _, st := range statements(t, tp, roleID) {
		for _, a := range list(st["Action"]) {
			for _, res := range list(st["Resource"]) {
				target := ref(res)
				if res == "*" {
					target = "*"
				} else if j, ok := res.(map[string]any)["Fn::Join"]; ok {
					target = ref(j.([]any)[1].([]any)[0]) + fmt.Sprint(j.([]any)[1].([]any)[1:])
				}
				actions[a.(string)] = append(actions[a.(string)], target)
			}
		}
	}
	for _, m := range list(tp.Resources[roleID].Properties["ManagedPolicyArns"]) {
		join := m.(map[string]any)["Fn::Join"].([]any)[1].([]any)
		managed = append(managed, fmt.Sprint(join[len(join)-1]))
	}
	return actions, managed
}

func TestLeastPrivilegePerFunction(t *testing.T) {
	// What each function's code calls (see pkg/dynamostore's access patterns).
	// TransactWriteItems is authorized by its Put/Update parts.
	consume := []string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"}
	send := []string{"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}
	write := []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
	want := map[string]struct {
		table     []string
		queue     []string // on the provisioning queue
		dlq       []string
		eventRule bool
	}{
		"create-deployment": {table: write, queue: send},
		"delete-deployment": {table: write, queue: send},
		"list-deployments":  {table: []string{"dynamodb:GetItem", "dynamodb:Query"}},
		"get-deployment":    {table: []string{"dynamodb:GetItem"}},
		"get-operation":     {table: []string{"dynamodb:GetItem"}},
		"get-openapi":       {},
		ProvisionerName:     {table: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, queue: union(send, consume), dlq: consume},
		ReconcilerName:      {table: []string{"dynamodb:Query", "dynamodb:UpdateItem"}, queue: send},
	}
	tp := synth(t, devCtx).JSON
	var tableID, mainID, dlqID string
	for id := range tp.ofType("AWS::DynamoDB::Table") {
		tableID = id
	}
	for id, q := range tp.ofType("AWS::SQS::Queue") {
		if q.Properties["RedrivePolicy"] != nil {
			mainID = id
		} else {
			dlqID = id
		}
	}
	for _, name := range FunctionNames() {
		w, ok := want[name]
		if !ok {
			t.Errorf("function %s has no expected grants in this test", name)
			continue
		}
		acts, managed := grants(t, tp, tp.functionID(t, name))
		byTarget := map[string][]string{}
		for a, targets := range acts {
			for _, tgt := range targets {
				byTarget[tgt] = append(byTarget[tgt], a)
			}
			if strings.Contains(a, "*") {
				t.Errorf("%s: wildcard action %s", name, a)
			}
		}
		for tgt := range byTarget {
			slices.Sort(byTarget[tgt])
			byTarget[tgt] = slices.Compact(byTarget[tgt])
		}
		expect := map[string][]string{}
		if len(w.table) > 0 {
			expect[tableID] = w.table
			expect[tableID+"[/index/*]"] = w.table
		}
		if len(w.queue) > 0 {
			expect[mainID] = w.queue
		}
		if len(w.dlq) > 0 {
			expect[dlqID] = w.dlq
		}
		expect["*"] = []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"} // tracing is on in dev
		for tgt := range expect {
			slices.Sort(expect[tgt])
		}
		if fmt.Sprint(byTarget) != fmt.Sprint(expect) {
			t.Errorf("%s grants\n got  %v\n want %v", name, byTarget, expect)
		}
		if len(managed) != 1 || managed[0] != ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" {
			t.Errorf("%s managed policies %v", name, managed)
		}
	}
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func TestQueuesAndEventSources(t *testing.T) {
	s := synth(t, devCtx)
	tp := s.JSON
	var mainID, dlqID string
	for id, q := range tp.ofType("AWS::SQS::Queue") {
		if q.Properties["SqsManagedSseEnabled"] != true {
			t.Errorf("%s: SSE-SQS off", id)
		}
		if rp, ok := q.Properties["RedrivePolicy"].(map[string]any); ok {
			mainID = id
			if rp["maxReceiveCount"] != float64(localgw.MaxReceiveCount) {
				t.Errorf("maxReceiveCount %v, want %d", rp["maxReceiveCount"], localgw.MaxReceiveCount)
			}
			dlqID = ref(rp["deadLetterTargetArn"])
			if q.Properties["VisibilityTimeout"] != float64(6*ProvisionerTimeoutSeconds) {
				t.Errorf("visibility %v", q.Properties["VisibilityTimeout"])
			}
		}
	}
	if mainID == "" || tp.Resources[dlqID].Type != "AWS::SQS::Queue" || dlqID == mainID {
		t.Fatalf("main %q dlq %q", mainID, dlqID)
	}
	prov := tp.functionID(t, ProvisionerName)
	sources := map[string]bool{}
	for id, m := range tp.ofType("AWS::Lambda::EventSourceMapping") {
		p := m.Properties
		if ref(p["FunctionName"]) != prov {
			t.Errorf("%s feeds %v, not the provisioner", id, p["FunctionName"])
		}
		if p["BatchSize"] != float64(ProvisionBatchSize) || p["MaximumBatchingWindowInSeconds"] != float64(ProvisionBatchWindowSecs) ||
			fmt.Sprint(p["FunctionResponseTypes"]) != "[ReportBatchItemFailures]" {
			t.Errorf("%s: %v", id, p)
		}
		sources[ref(p["EventSourceArn"])] = true
	}
	if !sources[mainID] || !sources[dlqID] {
		t.Errorf("event sources %v, want the queue %s and its DLQ %s", sources, mainID, dlqID)
	}
	// Every queue policy denies non-TLS access.
	for id, qp := range tp.ofType("AWS::SQS::QueuePolicy") {
		if !strings.Contains(fmt.Sprint(qp.Properties), "aws:SecureTransport:false") {
			t.Errorf("%s does not deny insecure transport: %v", id, qp.Properties)
		}
	}
}

func TestReconcilerSchedule(t *testing.T) {
	tp := synth(t, devCtx).JSON
	for id, r := range tp.ofType("AWS::Events::Rule") {
		if r.Properties["ScheduleExpression"] != fmt.Sprintf("rate(%d minute)", ReconcileEveryMinutes) || r.Properties["State"] != "ENABLED" {
			t.Errorf("%s: %v", id, r.Properties)
		}
		targets := list(r.Properties["Targets"])
		if len(targets) != 1 || ref(targets[0].(map[string]any)["Arn"]) != tp.functionID(t, ReconcilerName) {
			t.Errorf("%s targets %v", id, targets)
		}
	}
}

func TestAlarms(t *testing.T) {
	tp := synth(t, devCtx).JSON
	byMetric := map[string]int{}
	for id, a := range tp.ofType("AWS::CloudWatch::Alarm") {
		p := a.Properties
		byMetric[fmt.Sprint(p["Namespace"], "/", p["MetricName"])]++
		if p["ComparisonOperator"] != "GreaterThanThreshold" || p["EvaluationPeriods"] != float64(1) {
			t.Errorf("%s: %v", id, p)
		}
		if _, ok := p["AlarmActions"]; ok {
			t.Errorf("%s notifies although no topic was configured", id)
		}
		switch p["MetricName"] {
		case "ApproximateNumberOfMessagesVisible":
			dims := list(p["Dimensions"])
			if p["Threshold"] != float64(0) || len(dims) != 1 || !strings.Contains(fmt.Sprint(dims[0]), "QueueDeadLetters") {
				t.Errorf("DLQ alarm %v", p)
			}
		case "5xx":
			if p["Statistic"] != "Average" || p["Threshold"] != API5xxRate {
				t.Errorf("5xx alarm %v", p)
			}
		case "Errors", "Throttles":
			if p["Threshold"] != float64(0) || p["Statistic"] != "Sum" {
				t.Errorf("%s: %v", id, p)
			}
		}
	}
	fns := len(FunctionNames())
	want := map[string]int{"AWS/SQS/ApproximateNumberOfMessagesVisible": 1, "AWS/Lambda/Errors": fns, "AWS/Lambda/Throttles": fns, "AWS/ApiGateway/5xx": 1}
	if fmt.Sprint(byMetric) != fmt.Sprint(want) {
		t.Errorf("alarms by metric %v, want %v", byMetric, want)
	}
	// With a topic every alarm notifies it.
	for id, a := range synth(t, prodCtx).JSON.ofType("AWS::CloudWatch::Alarm") {
		if fmt.Sprint(a.Properties["AlarmActions"]) != "["+prodCtx["alarmTopicArn"].(string)+"]" {
			t.Errorf("%s actions %v", id, a.Properties["AlarmActions"])
		}
	}
}

func TestAPIStageAndDomain(t *testing.T) {
	dev := synth(t, devCtx).JSON
	for id, s := range dev.ofType("AWS::ApiGatewayV2::Stage") {
		p := s.Properties
		if p["StageName"] != "$default" || p["AutoDeploy"] != true {
			t.Errorf("%s: %v", id, p)
		}
		th := p["DefaultRouteSettings"].(map[string]any)
		if th["ThrottlingRateLimit"] != float64(50) || th["ThrottlingBurstLimit"] != float64(100) {
			t.Errorf("throttling %v", th)
		}
		als := p["AccessLogSettings"].(map[string]any)
		if dev.Resources[ref(als["DestinationArn"])].Type != "AWS::Logs::LogGroup" || !strings.Contains(als["Format"].(string), "$context.requestId") {
			t.Errorf("access logs %v", als)
		}
	}
	if out := fmt.Sprint(dev.Outputs["ApiUrl"]); !strings.Contains(out, "execute-api") {
		t.Errorf("dev ApiUrl %s", out)
	}

	prod := synth(t, prodCtx)
	check(t, "custom domain", func() {
		prod.Template.HasResourceProperties(str("AWS::ApiGatewayV2::DomainName"), map[string]any{
			"DomainName": prodCtx["customDomain"],
			"DomainNameConfigurations": []any{map[string]any{
				"CertificateArn": prodCtx["certificateArn"], "EndpointType": "REGIONAL",
			}},
		})
	})
	check(t, "api mapping", func() { prod.Template.ResourceCountIs(str("AWS::ApiGatewayV2::ApiMapping"), num(1)) })
	if out := fmt.Sprint(prod.JSON.Outputs["ApiUrl"]); !strings.Contains(out, "https://api.example.com/") {
		t.Errorf("prod ApiUrl %s", out)
	}
	for _, r := range prod.JSON.ofType("AWS::Lambda::Function") {
		if env := r.Properties["Environment"].(map[string]any)["Variables"].(map[string]any); env[config.EnvBaseDomain] != "apps.example.com" {
			t.Errorf("base domain %v", env[config.EnvBaseDomain])
		}
	}
}

func TestSettingsValidation(t *testing.T) {
	cases := []struct {
		ctx     map[string]any
		wantErr string
	}{
		{map[string]any{"logRetentionDays": 13}, "logRetentionDays"},
		{map[string]any{"arch": "mips"}, "arch"},
		{map[string]any{"customDomain": "api.example.com"}, "certificateArn"},
		{map[string]any{"tracing": "maybe"}, "tracing"},
		{map[string]any{"provisionDelay": "soon"}, "provisionDelay"},
		{map[string]any{"stage": ""}, "stage"},
		{map[string]any{"stage": "prod"}, ""},
	}
	for _, c := range cases {
		app := awscdk.NewApp(&awscdk.AppProps{Context: &c.ctx})
		s, err := SettingsFromContext(app.Node())
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%v: %v", c.ctx, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%v: error %v, want one about %s", c.ctx, err, c.wantErr)
		case c.wantErr == "" && !s.Prod:
			t.Errorf("%v: stage prod is not treated as production", c.ctx)
		}
	}
}
