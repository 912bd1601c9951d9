"""What the emulator really creates for a deployment stack, resource by resource.

CloudFormation on an emulator can report CREATE_COMPLETE for a resource it only
recorded; this creates the stack from a template, asks each service for the
real thing and its key settings, then deletes the stack and checks nothing is
left. Usage (needs only botocore, which MiniStack brings into .venv):
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 .venv/bin/python infra/apps/inventory.py pkg/provision/templates/airflow.json
"""
import os
import sys
import time

import botocore.session

ep = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
region = os.environ.get("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
sess = botocore.session.get_session()


def client(name):
    return sess.create_client(name, region_name=region, endpoint_url=ep)


def probe(typ, pid):
    """Returns (exists, detail) for one physical resource."""
    ec2, ecs, elb, rds = client("ec2"), client("ecs"), client("elbv2"), client("rds")
    if typ == "AWS::EC2::VPC":
        v = ec2.describe_vpcs(VpcIds=[pid])["Vpcs"][0]
        return True, "cidr=%s tags=%d" % (v["CidrBlock"], len(v.get("Tags", [])))
    if typ == "AWS::EC2::Subnet":
        s = ec2.describe_subnets(SubnetIds=[pid])["Subnets"][0]
        return True, "cidr=%s az=%s" % (s["CidrBlock"], s.get("AvailabilityZone"))
    if typ == "AWS::EC2::SecurityGroup":
        g = ec2.describe_security_groups(GroupIds=[pid])["SecurityGroups"][0]
        fmt = lambda ps: [(p.get("FromPort"), [r.get("CidrIp") for r in p.get("IpRanges", [])] +
                           [u.get("GroupId") for u in p.get("UserIdGroupPairs", [])]) for p in ps]
        return True, "in=%s out=%s" % (fmt(g.get("IpPermissions", [])), fmt(g.get("IpPermissionsEgress", [])))
    if typ == "AWS::EC2::InternetGateway":
        g = ec2.describe_internet_gateways(InternetGatewayIds=[pid])["InternetGateways"][0]
        return True, "attached=%s" % [a.get("VpcId") for a in g.get("Attachments", [])]
    if typ == "AWS::EC2::RouteTable":
        t = ec2.describe_route_tables(RouteTableIds=[pid])["RouteTables"][0]
        return True, "routes=%s assoc=%d" % ([(r.get("DestinationCidrBlock"), r.get("GatewayId")) for r in t.get("Routes", [])],
                                             len(t.get("Associations", [])))
    if typ == "AWS::ECS::Cluster":
        c = ecs.describe_clusters(clusters=[pid])["clusters"]
        return bool(c), "status=%s" % (c[0].get("status") if c else "-")
    if typ == "AWS::ECS::TaskDefinition":
        d = ecs.describe_task_definition(taskDefinition=pid)["taskDefinition"]
        return d.get("status") != "INACTIVE", "status=%s cpu=%s mem=%s containers=%s secrets=%d" % (
            d.get("status"), d.get("cpu"), d.get("memory"), [c["name"] for c in d["containerDefinitions"]],
            sum(len(c.get("secrets", [])) for c in d["containerDefinitions"]))
    if typ == "AWS::ECS::Service":
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
        lb = elb.describe_load_balancers(LoadBalancerArns=[pid])["LoadBalancers"][0]
        return True, "scheme=%s dns=%s state=%s" % (lb.get("Scheme"), lb.get("DNSName"), lb.get("State", {}).get("Code"))
    if typ == "AWS::ElasticLoadBalancingV2::TargetGroup":
        tg = elb.describe_target_groups(TargetGroupArns=[pid])["TargetGroups"][0]
        h = elb.describe_target_health(TargetGroupArn=pid).get("TargetHealthDescriptions", [])
        return True, "type=%s port=%s health=%s targets=%d" % (tg.get("TargetType"), tg.get("Port"), tg.get("HealthCheckPath"), len(h))
    if typ == "AWS::ElasticLoadBalancingV2::Listener":
        l = elb.describe_listeners(ListenerArns=[pid])["Listeners"][0]
        return True, "port=%s proto=%s certs=%d action=%s" % (l.get("Port"), l.get("Protocol"), len(l.get("Certificates", [])),
                                                              [a.get("Type") for a in l.get("DefaultActions", [])])
    if typ == "AWS::RDS::DBInstance":
        d = rds.describe_db_instances(DBInstanceIdentifier=pid)["DBInstances"][0]
        return True, "engine=%s %s class=%s encrypted=%s status=%s endpoint=%s" % (
            d.get("Engine"), d.get("EngineVersion"), d.get("DBInstanceClass"), d.get("StorageEncrypted"),
            d.get("DBInstanceStatus"), (d.get("Endpoint") or {}).get("Address"))
    if typ == "AWS::RDS::DBSubnetGroup":
        g = rds.describe_db_subnet_groups(DBSubnetGroupName=pid)["DBSubnetGroups"][0]
        return True, "subnets=%d" % len(g.get("Subnets", []))
    if typ == "AWS::SecretsManager::Secret":
        v = client("secretsmanager").get_secret_value(SecretId=pid)["SecretString"]
        return True, "value of %d chars%s" % (len(v), " (JSON with host)" if '"host"' in v else "")
    if typ == "AWS::Logs::LogGroup":
        g = [g for g in client("logs").describe_log_groups(logGroupNamePrefix=pid)["logGroups"] if g["logGroupName"] == pid]
        return bool(g), "retention=%s" % (g[0].get("retentionInDays") if g else "-")
    if typ == "AWS::IAM::Role":
        r = client("iam").get_role(RoleName=pid)["Role"]
        return True, "path=%s" % r.get("Path")
    return None, "not probed (no read API for it here)"


def main():
    body = open(sys.argv[1]).read()
    name = "onvera-inventory-%d" % int(time.time())
    cfn = client("cloudformation")
    params = {"DeploymentId": "inventory", "OrganizationId": "org", "Hostname": "app.inventory.example.test",
              "CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-000000000000"}
    cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
                     Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
    for _ in range(120):
        st = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not st["StackStatus"].endswith("IN_PROGRESS"):
            break
        time.sleep(1)
    print("stack %s: %s outputs=%s" % (name, st["StackStatus"], {o["OutputKey"]: o["OutputValue"] for o in st.get("Outputs", [])}))
    res = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    probed = []
    for r in sorted(res, key=lambda r: r["ResourceType"]):
        typ, pid = r["ResourceType"], r.get("PhysicalResourceId", "")
        try:
            ok, detail = probe(typ, pid)
        except Exception as e:  # noqa: BLE001
            ok, detail = False, "%s: %s" % (type(e).__name__, e)
        probed.append((typ, pid, ok))
        print("%-45s %-16s %-5s %s" % (typ, r["ResourceStatus"], {True: "yes", False: "NO", None: "?"}[ok], detail))
    cfn.delete_stack(StackName=name)
    for _ in range(120):
        try:
            if cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE":
                break
        except Exception:  # noqa: BLE001
            break
        time.sleep(1)
    left = []
    for typ, pid, ok in probed:
        if ok:
            try:
                if probe(typ, pid)[0]:
                    left.append((typ, pid))
            except Exception:  # noqa: BLE001
                pass
    print("after delete, still there: %s" % (left or "nothing"))


if __name__ == "__main__":
    main()
