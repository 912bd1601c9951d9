"""What the emulator really holds for a stack, resource by resource.

CloudFormation on an emulator can report CREATE_COMPLETE for a resource it
only recorded; this asks each service for the real thing and its key settings.
Two modes (needs only botocore, which MiniStack brings into .venv):

  .venv/bin/python localstack/inventory.py Onvera-dev
      an existing stack, e.g. the CDK stack after `make deploy-local`
  .venv/bin/python localstack/inventory.py pkg/provision/cfn/templates/airflow.json
      a deployment template (infra/apps): creates a Route 53 hosted zone and
      the stack with all five parameters, probes it, deletes both, and says
      what is left

with AWS_ENDPOINT_URL set (default http://127.0.0.1:4566).
"""
import json
import os
import sys
import time

import botocore.session

ep = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
region = os.environ.get("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
sess = botocore.session.get_session()

# Parameters of a deployment template (infra/apps): the driver passes the first
# three, ONVERA_CFN_PARAMETERS the last two; HostedZoneId is created here.
DOMAIN = "example.test"
PARAMS = {"DeploymentId": "inventory", "OrganizationId": "org", "Hostname": "app.inventory." + DOMAIN,
          "CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-000000000000"}


def client(name):
    return sess.create_client(name, region_name=region, endpoint_url=ep)


def probe(typ, pid, res):
    """Returns (exists, detail) for one physical resource; res holds what the
    stack knows beyond pid (api id, queue URLs, function, hosted zone)."""
    try:
        # The CDK stack (infra/stack).
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
            s = client("apigatewayv2").get_stage(ApiId=res["api"], StageName=pid)
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
        if typ == "AWS::IAM::Policy":
            return None, "inline policy (IAM is not enforced by the emulator)"

        # Deployment stacks (infra/apps).
        if typ == "AWS::EC2::VPC":
            v = client("ec2").describe_vpcs(VpcIds=[pid])["Vpcs"][0]
            return True, "cidr=%s tags=%d" % (v["CidrBlock"], len(v.get("Tags", [])))
        if typ == "AWS::EC2::Subnet":
            s = client("ec2").describe_subnets(SubnetIds=[pid])["Subnets"][0]
            return True, "cidr=%s az=%s" % (s["CidrBlock"], s.get("AvailabilityZone"))
        if typ == "AWS::EC2::SecurityGroup":
            g = client("ec2").describe_security_groups(GroupIds=[pid])["SecurityGroups"][0]
            rules = lambda ps: [(p.get("FromPort"), [r.get("CidrIp") for r in p.get("IpRanges", [])] +
                                 [u.get("GroupId") for u in p.get("UserIdGroupPairs", [])]) for p in ps]
            return True, "in=%s out=%s" % (rules(g.get("IpPermissions", [])), rules(g.get("IpPermissionsEgress", [])))
        if typ == "AWS::EC2::InternetGateway":
            g = client("ec2").describe_internet_gateways(InternetGatewayIds=[pid])["InternetGateways"][0]
            return True, "attached=%s" % [a.get("VpcId") for a in g.get("Attachments", [])]
        if typ == "AWS::EC2::RouteTable":
            t = client("ec2").describe_route_tables(RouteTableIds=[pid])["RouteTables"][0]
            return True, "routes=%s assoc=%d" % ([(r.get("DestinationCidrBlock"), r.get("GatewayId")) for r in t.get("Routes", [])],
                                                 len(t.get("Associations", [])))
        if typ == "AWS::ECS::Cluster":
            c = client("ecs").describe_clusters(clusters=[pid])["clusters"]
            return bool(c), "status=%s" % (c[0].get("status") if c else "-")
        if typ == "AWS::ECS::TaskDefinition":
            d = client("ecs").describe_task_definition(taskDefinition=pid)["taskDefinition"]
            return d.get("status") != "INACTIVE", "status=%s cpu=%s mem=%s containers=%s secrets=%d" % (
                d.get("status"), d.get("cpu"), d.get("memory"), [c["name"] for c in d["containerDefinitions"]],
                sum(len(c.get("secrets", [])) for c in d["containerDefinitions"]))
        if typ == "AWS::ECS::Service":
            ecs = client("ecs")
            cluster = pid.split("/")[-2] if pid.count("/") >= 2 else None
            s = ecs.describe_services(cluster=cluster, services=[pid])["services"] if cluster else []
            if not s:
                for c in ecs.list_clusters()["clusterArns"]:
                    s = ecs.describe_services(cluster=c, services=[pid]).get("services", [])
                    if s:
                        break
            if not s:
                return False, "not found"
            s = s[0]
            return True, "status=%s desired=%s running=%s launch=%s lbs=%d" % (
                s.get("status"), s.get("desiredCount"), s.get("runningCount"), s.get("launchType"), len(s.get("loadBalancers", [])))
        if typ == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            lb = client("elbv2").describe_load_balancers(LoadBalancerArns=[pid])["LoadBalancers"][0]
            return True, "scheme=%s dns=%s state=%s" % (lb.get("Scheme"), lb.get("DNSName"), lb.get("State", {}).get("Code"))
        if typ == "AWS::ElasticLoadBalancingV2::TargetGroup":
            elb = client("elbv2")
            tg = elb.describe_target_groups(TargetGroupArns=[pid])["TargetGroups"][0]
            h = elb.describe_target_health(TargetGroupArn=pid).get("TargetHealthDescriptions", [])
            return True, "type=%s port=%s health=%s targets=%d" % (tg.get("TargetType"), tg.get("Port"), tg.get("HealthCheckPath"), len(h))
        if typ == "AWS::ElasticLoadBalancingV2::Listener":
            l = client("elbv2").describe_listeners(ListenerArns=[pid])["Listeners"][0]
            return True, "port=%s proto=%s certs=%d action=%s" % (l.get("Port"), l.get("Protocol"), len(l.get("Certificates", [])),
                                                                  [a.get("Type") for a in l.get("DefaultActions", [])])
        if typ == "AWS::RDS::DBInstance":
            d = client("rds").describe_db_instances(DBInstanceIdentifier=pid)["DBInstances"][0]
            return True, "engine=%s %s class=%s encrypted=%s status=%s endpoint=%s" % (
                d.get("Engine"), d.get("EngineVersion"), d.get("DBInstanceClass"), d.get("StorageEncrypted"),
                d.get("DBInstanceStatus"), (d.get("Endpoint") or {}).get("Address"))
        if typ == "AWS::RDS::DBSubnetGroup":
            g = client("rds").describe_db_subnet_groups(DBSubnetGroupName=pid)["DBSubnetGroups"][0]
            return True, "subnets=%d" % len(g.get("Subnets", []))
        if typ == "AWS::SecretsManager::Secret":
            v = client("secretsmanager").get_secret_value(SecretId=pid)["SecretString"]
            return True, "value of %d chars%s" % (len(v), " (JSON with host)" if '"host"' in v else "")
        if typ == "AWS::Route53::RecordSet" and res.get("zone"):
            rs = client("route53").list_resource_record_sets(HostedZoneId=res["zone"])["ResourceRecordSets"]
            r = next((r for r in rs if r["Name"].rstrip(".") == pid.rstrip(".") and r["Type"] == "A"), None)
            return r is not None, "alias=%s" % ((r or {}).get("AliasTarget", {}).get("DNSName", "-"))

        # Both.
        if typ == "AWS::Logs::LogGroup":
            gs = client("logs").describe_log_groups(logGroupNamePrefix=pid)["logGroups"]
            g = next((g for g in gs if g["logGroupName"] == pid), None)
            return g is not None, "retention=%s" % (g or {}).get("retentionInDays")
        if typ == "AWS::IAM::Role":
            r = client("iam").get_role(RoleName=pid)["Role"]
            mp = client("iam").list_attached_role_policies(RoleName=pid)["AttachedPolicies"]
            return True, "path=%s managed=%s" % (r.get("Path"), [p["PolicyName"] for p in mp])
    except Exception as e:  # noqa: BLE001
        return False, "%s: %s" % (type(e).__name__, e)
    return None, "not probed"


def inventory(stack, zone=None):
    """Prints one line per resource of the stack; returns (type, physical id,
    extra) of those found, for a second look after a delete."""
    rs = client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    api = next((r["PhysicalResourceId"] for r in rs if r["ResourceType"] == "AWS::ApiGatewayV2::Api"), None)
    fns = [r["PhysicalResourceId"] for r in rs if r["ResourceType"] == "AWS::Lambda::Function"]
    queues = [r["PhysicalResourceId"] for r in rs if r["ResourceType"] == "AWS::SQS::Queue"]
    found = []
    for r in sorted(rs, key=lambda r: (r["ResourceType"], r["LogicalResourceId"])):
        typ, pid = r["ResourceType"], r.get("PhysicalResourceId", "")
        extra = {"api": api, "queues": queues, "zone": zone}
        if typ == "AWS::Lambda::Permission":
            extra["fn"] = next((f for f in fns if f in json.dumps(r, default=str)), fns[0] if fns else None)
        ok, detail = probe(typ, pid, extra)
        if ok:
            found.append((typ, pid, extra))
        mark = {True: "real", False: "MISSING", None: "-"}[ok]
        print("%-42s %-62s %-16s %-7s %s" % (typ, r["LogicalResourceId"], r["ResourceStatus"], mark, detail))
    return found


def wait(cfn, name, done):
    for _ in range(180):
        try:
            st = cfn.describe_stacks(StackName=name)["Stacks"][0]
        except Exception:  # noqa: BLE001 (a deleted stack may no longer be found)
            return None
        if done(st["StackStatus"]):
            return st
        time.sleep(1)
    return st


def from_template(path):
    """Creates a deployment stack from a template, probes it, deletes it and
    probes again: what is still there after the delete was left behind."""
    body = open(path).read()
    name = "onvera-inventory-%d" % int(time.time())
    dns = client("route53")
    zone = dns.create_hosted_zone(Name=DOMAIN, CallerReference=name)["HostedZone"]["Id"].rsplit("/", 1)[-1]
    cfn = client("cloudformation")
    params = dict(PARAMS, HostedZoneId=zone)
    try:
        try:
            cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
                             Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
            st = wait(cfn, name, lambda s: not s.endswith("IN_PROGRESS"))
            print("stack %s: %s outputs=%s" % (name, st["StackStatus"],
                                               {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}))
            found = inventory(name, zone)
        finally:
            cfn.delete_stack(StackName=name)
            wait(cfn, name, lambda s: s == "DELETE_COMPLETE")
        left = [(typ, pid) for typ, pid, extra in found if probe(typ, pid, extra)[0]]
        print("after delete, still there: %s" % (left or "nothing"))
    finally:
        try:
            dns.delete_hosted_zone(Id=zone)
        except Exception as e:  # noqa: BLE001 (records left behind keep the zone)
            print("hosted zone %s not deleted: %s" % (zone, e))


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else "Onvera-dev"
    if arg.endswith(".json"):
        from_template(arg)
    else:
        inventory(arg)


if __name__ == "__main__":
    main()
