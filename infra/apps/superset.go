package apps

import (
	"fmt"
	"maps"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"
	"github.com/onvera/deployments/pkg/deployment"
)

// SupersetImage is the official image, pinned.
const SupersetImage = "apache/superset:4.1.2"

// Superset runs one Fargate task: "init" upgrades the metadata database,
// creates the admin user and the default roles, then exits; "web" (gunicorn
// on 8088, the image's run-server.sh) starts once it has succeeded. No
// Celery workers or cache: async queries and thumbnails stay off.
// 1 vCPU / 2 GiB holds two gunicorn workers.
var Superset = &App{
	Type: deployment.Superset, Image: SupersetImage, Port: 8088, HealthPath: "/health",
	CPU: 1024, Memory: 2048,
	Containers: supersetContainers,
}

// supersetConfig is superset_config.py: the metadata database from the RDS
// secret's fields, the key from its secret, the public URL.
const supersetConfig = `import os
e = os.environ
SQLALCHEMY_DATABASE_URI = "postgresql+psycopg2://%s:%s@%s:%s/%s" % (e["DB_USER"], e["DB_PASSWORD"], e["DB_HOST"], e["DB_PORT"], e["DB_NAME"])
SECRET_KEY = e["SUPERSET_SECRET_KEY"]
ENABLE_PROXY_FIX = True
WEBDRIVER_BASEURL_USER_FRIENDLY = "https://" + e["ONVERA_HOSTNAME"]
`

// supersetPrelude writes the config and makes sure the PostgreSQL driver is
// importable: the "lean" image (4.1+) ships without database drivers, so it
// is installed into /tmp/py (on PYTHONPATH) when missing.
const supersetPrelude = `set -e; printf '%s\n' "$ONVERA_SUPERSET_CONFIG" > /tmp/superset_config.py; ` +
	`python -c 'import psycopg2' 2>/dev/null || python -m pip install --quiet --no-cache-dir --target /tmp/py psycopg2-binary==2.9.10; `

func supersetContainers(c *Context) {
	env := map[string]*string{
		"SUPERSET_CONFIG_PATH":   str("/tmp/superset_config.py"),
		"PYTHONPATH":             str("/app/pythonpath:/tmp/py"),
		"ONVERA_SUPERSET_CONFIG": str(supersetConfig),
		"ONVERA_HOSTNAME":        c.Hostname,
		"SUPERSET_PORT":          str(fmt.Sprint(c.App.Port)),
		"SERVER_WORKER_AMOUNT":   str("2"),
	}
	secrets := c.DBSecrets()
	secrets["SUPERSET_SECRET_KEY"] = awsecs.Secret_FromSecretsManager(c.AppKey, nil)
	image := awsecs.ContainerImage_FromRegistry(str(c.App.Image), nil)
	entry := strs("/bin/bash", "-c")

	initSecrets := map[string]awsecs.Secret{"ADMIN_PASSWORD": awsecs.Secret_FromSecretsManager(c.Admin, str("password"))}
	maps.Copy(initSecrets, secrets)
	initC := c.Task.AddContainer(str("init"), &awsecs.ContainerDefinitionOptions{
		ContainerName: str("init"), Image: image, Essential: jsii.Bool(false), EntryPoint: entry,
		Command: &[]*string{awscdk.Fn_Join(str(""), &[]*string{str(supersetPrelude +
			`superset db upgrade; superset fab create-admin --username ` + AdminUser + ` --firstname Admin --lastname User --password "$ADMIN_PASSWORD" --email admin@`),
			c.Hostname, str(` || true; superset init`)})},
		Environment: &env, Secrets: &initSecrets, Logging: c.Logging("init"),
	})
	web := c.Task.AddContainer(str("web"), &awsecs.ContainerDefinitionOptions{
		ContainerName: str("web"), Image: image, Essential: jsii.Bool(true), EntryPoint: entry,
		Command:     strs(supersetPrelude + `exec /usr/bin/run-server.sh`),
		Environment: &env, Secrets: &secrets, Logging: c.Logging("web"),
		PortMappings: &[]*awsecs.PortMapping{{ContainerPort: num(c.App.Port)}},
	})
	web.AddContainerDependencies(&awsecs.ContainerDependency{Container: initC, Condition: awsecs.ContainerDependencyCondition_SUCCESS})
}
