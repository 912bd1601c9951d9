"""What the emulator really holds for a deployed stack, resource by resource.

CloudFormation on an emulator can report CREATE_COMPLETE for a resource it
only recorded; this asks each service for the real thing and its key settings.
Usage: AWS_ENDPOINT_URL=http://127.0.0.1:4566 .venv/bin/python localstack/inventory.py Onvera-dev
(needs only botocore, which MiniStack brings into .venv).
"""
import json
import os
import sys

import botocore.session

ep = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
region = os.environ.get("AWS_REGION", "us-east-1")
sess = botocore.session.get_session()
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")


def client(name):
    return sess.create_client(name, region_name=region, endpoint_url=ep)


def probe(typ, pid, res):
    """Returns (exists, detail) for one physical resource."""
    try:
        if typ == "AWS::DynamoDB::Table":
            ddb = client("dynamodb")
            t = ddb.describe_table(TableName=pid)["Table"]
            ttl = ddb.describe_time_to_live(TableName=pid)["TimeToLiveDescription"]
            try:
                pitr = ddb.describe_continuous_backups(TableName=pid)["ContinuousBackupsDescription"][
                    "PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
            except Exception as e:  # noqa: BLE001
                pitr = "n/a (%s)" % type(e).__name__
            return True, "billing=%s lsi=%s gsi=%s ttl=%s pitr=%s deletionProtection=%s" % (
                t.get("BillingModeSummary", {}).get("BillingMode"),
                [i["IndexName"] for i in t.get("LocalSecondaryIndexes", [])],
                [i["IndexName"] for i in t.get("GlobalSecondaryIndexes", [])],
                ttl.get("TimeToLiveStatus"), pitr, t.get("DeletionProtectionEnabled"))
        if typ == "AWS::SQS::Queue":
            a = client("sqs").get_queue_attributes(QueueUrl=pid, AttributeNames=["All"])["Attributes"]
            return True, "sse=%s visibility=%s redrive=%s" % (
                a.get("SqsManagedSseEnabled"), a.get("VisibilityTimeout"), a.get("RedrivePolicy", "-"))
        if typ == "AWS::SQS::QueuePolicy":
            # Which queue a policy belongs to is in the template; report every stack queue's Policy.
            have = [u.rsplit("/", 1)[-1] for u in res["queues"] if "Policy" in client("sqs").get_queue_attributes(
                QueueUrl=u, AttributeNames=["Policy"]).get("Attributes", {})]
            return bool(have), "queues with a Policy attribute: %s" % (have or "none")
        if typ == "AWS::Lambda::Function":
            c = client("lambda").get_function_configuration(FunctionName=pid)
            return True, "runtime=%s arch=%s tracing=%s timeout=%s mem=%s logGroup=%s" % (
                c.get("Runtime"), c.get("Architectures"), c.get("TracingConfig", {}).get("Mode"),
                c.get("Timeout"), c.get("MemorySize"), c.get("LoggingConfig", {}).get("LogGroup"))
        if typ == "AWS::Lambda::EventSourceMapping":
            m = client("lambda").get_event_source_mapping(UUID=pid)
            return True, "batch=%s window=%s responseTypes=%s state=%s" % (
                m.get("BatchSize"), m.get("MaximumBatchingWindowInSeconds"), m.get("FunctionResponseTypes"), m.get("State"))
        if typ == "AWS::Lambda::Permission":
            fn = res.get("fn")
            pol = json.loads(client("lambda").get_policy(FunctionName=fn)["Policy"]) if fn else {}
            return bool(pol.get("Statement")), "%d statements on the function" % len(pol.get("Statement", []))
        if typ == "AWS::Logs::LogGroup":
            gs = client("logs").describe_log_groups(logGroupNamePrefix=pid)["logGroups"]
            g = next((g for g in gs if g["logGroupName"] == pid), None)
            return g is not None, "retention=%s" % (g or {}).get("retentionInDays")
        if typ == "AWS::CloudWatch::Alarm":
            a = client("cloudwatch").describe_alarms(AlarmNames=[pid])["MetricAlarms"]
            return bool(a), ("%s %s %s %s" % (a[0].get("Namespace"), a[0].get("MetricName"),
                                              a[0].get("ComparisonOperator"), a[0].get("Threshold"))) if a else "missing"
        if typ == "AWS::Events::Rule":
            r = client("events").describe_rule(Name=pid.split("|")[-1])
            t = client("events").list_targets_by_rule(Rule=r["Name"])["Targets"]
            return True, "%s state=%s targets=%d" % (r.get("ScheduleExpression"), r.get("State"), len(t))
        if typ == "AWS::ApiGatewayV2::Api":
            a = client("apigatewayv2").get_api(ApiId=pid)
            return True, "protocol=%s" % a.get("ProtocolType")
        if typ == "AWS::ApiGatewayV2::Stage":
            api = res["api"]
            s = client("apigatewayv2").get_stage(ApiId=api, StageName=pid)
            rs = s.get("DefaultRouteSettings", {})
            return True, "autoDeploy=%s throttle=%s/%s accessLogs=%s" % (
                s.get("AutoDeploy"), rs.get("ThrottlingRateLimit"), rs.get("ThrottlingBurstLimit"),
                bool(s.get("AccessLogSettings")))
        if typ in ("AWS::ApiGatewayV2::Route", "AWS::ApiGatewayV2::Integration"):
            api = res["api"]
            c = client("apigatewayv2")
            if typ.endswith("Route"):
                keys = [r["RouteKey"] for r in c.get_routes(ApiId=api)["Items"]]
                return bool(keys), "API has routes %s (physical id %s)" % (keys, pid)
            i = c.get_integration(ApiId=api, IntegrationId=pid)
            return True, "%s payload=%s" % (i.get("IntegrationType"), i.get("PayloadFormatVersion"))
        if typ == "AWS::IAM::Role":
            r = client("iam").get_role(RoleName=pid)["Role"]
            mp = client("iam").list_attached_role_policies(RoleName=pid)["AttachedPolicies"]
            return True, "managed=%s" % [p["PolicyName"] for p in mp]
        if typ == "AWS::IAM::Policy":
            return None, "inline policy (IAM is not enforced by the emulator)"
    except Exception as e:  # noqa: BLE001
        return False, "%s: %s" % (type(e).__name__, e)
    return None, "not probed"


def main():
    stack = sys.argv[1] if len(sys.argv) > 1 else "Onvera-dev"
    cfn = client("cloudformation")
    rs = cfn.describe_stack_resources(StackName=stack)["StackResources"]
    api = next((r["PhysicalResourceId"] for r in rs if r["ResourceType"] == "AWS::ApiGatewayV2::Api"), None)
    fns = [r["PhysicalResourceId"] for r in rs if r["ResourceType"] == "AWS::Lambda::Function"]
    rows = []
    for r in sorted(rs, key=lambda r: (r["ResourceType"], r["LogicalResourceId"])):
        typ, pid = r["ResourceType"], r.get("PhysicalResourceId", "")
        extra = {"api": api, "queues": [q["PhysicalResourceId"] for q in rs if q["ResourceType"] == "AWS::SQS::Queue"]}
        if typ == "AWS::Lambda::Permission":
            extra["fn"] = next((f for f in fns if f in json.dumps(r, default=str)), fns[0] if fns else None)
        ok, detail = probe(typ, pid, extra)
        mark = {True: "real", False: "MISSING", None: "-"}[ok]
        rows.append((typ, r["LogicalResourceId"], r["ResourceStatus"], mark, detail))
    for row in rows:
        print("%-34s %-62s %-16s %-7s %s" % row)


if __name__ == "__main__":
    main()
