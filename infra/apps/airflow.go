package apps

import (
	"maps"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
	"github.com/onvera/deployments/pkg/deployment"
)

// AirflowImage is the official image, pinned (Airflow 2: webserver and
// scheduler are separate commands; the entrypoint migrates the database and
// creates the first user when told to).
const AirflowImage = "apache/airflow:2.10.5"

// Airflow runs one Fargate task with three containers (see infra/README.md):
// "init" migrates the metadata database and creates the admin user, then
// exits; "web" (the webserver, behind the load balancer) and "scheduler"
// (LocalExecutor: task instances run as its subprocesses) start once it has
// succeeded. 1 vCPU / 4 GiB holds two webserver workers and the scheduler.
var Airflow = &App{
	Type: deployment.Airflow, Image: AirflowImage, Port: 8080, HealthPath: "/health",
	CPU: 1024, Memory: 4096,
	Containers: airflowContainers,
}

// airflowStart assembles the SQLAlchemy URL from the RDS secret's fields
// (injected one by one; the password has no URL-special characters) and the
// Fernet key from its seed, then hands over to the image's entrypoint.
const airflowStart = `export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://$DB_USER:$DB_PASSWORD@$DB_HOST:$DB_PORT/$DB_NAME" AIRFLOW__CORE__FERNET_KEY="${` + fernetSeedVar + `}="; exec /entrypoint airflow `

// fernetSeedVar carries 43 generated alphanumeric characters: base64url
// digits, so with the "=" the start script appends they are a 32-byte
// Fernet key (256 bits of entropy) that Airflow encrypts connection and
// variable secrets with. Secrets Manager cannot generate the padding itself,
// and an image without the key stores those secrets in the clear.
const fernetSeedVar = "AIRFLOW_FERNET_KEY_SEED"

func airflowContainers(c *Context) {
	env := map[string]*string{
		"AIRFLOW__CORE__EXECUTOR":              str("LocalExecutor"),
		"AIRFLOW__CORE__LOAD_EXAMPLES":         str("False"),
		"AIRFLOW__WEBSERVER__BASE_URL":         awscdk.Fn_Join(str(""), &[]*string{str("https://"), c.Hostname}),
		"AIRFLOW__WEBSERVER__ENABLE_PROXY_FIX": str("True"),
		"AIRFLOW__WEBSERVER__WORKERS":          str("2"),
		"AIRFLOW__WEBSERVER__EXPOSE_CONFIG":    str("False"),
	}
	secrets := c.DBSecrets()
	secrets["AIRFLOW__WEBSERVER__SECRET_KEY"] = awsecs.Secret_FromSecretsManager(c.AppKey, nil)
	fernet := awssecretsmanager.NewSecret(c.Scope, str("FernetKeySeed"), &awssecretsmanager.SecretProps{
		Description: str("seed of Airflow's Fernet key (the start script appends the padding)"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength: num(43), ExcludePunctuation: jsii.Bool(true), IncludeSpace: jsii.Bool(false),
		},
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	secrets[fernetSeedVar] = awsecs.Secret_FromSecretsManager(fernet, nil)
	image := awsecs.ContainerImage_FromRegistry(str(c.App.Image), nil)
	entry := strs("/usr/bin/dumb-init", "--", "/bin/bash", "-c")

	initEnv := map[string]*string{"_AIRFLOW_DB_MIGRATE": str("true"), "_AIRFLOW_WWW_USER_CREATE": str("true"), "_AIRFLOW_WWW_USER_USERNAME": str(AdminUser)}
	maps.Copy(initEnv, env)
	initSecrets := map[string]awsecs.Secret{"_AIRFLOW_WWW_USER_PASSWORD": awsecs.Secret_FromSecretsManager(c.Admin, str("password"))}
	maps.Copy(initSecrets, secrets)
	initC := c.Task.AddContainer(str("init"), &awsecs.ContainerDefinitionOptions{
		ContainerName: str("init"), Image: image, Essential: jsii.Bool(false),
		EntryPoint: entry, Command: strs(airflowStart + "version"),
		Environment: &initEnv, Secrets: &initSecrets, Logging: c.Logging("init"),
	})
	after := &awsecs.ContainerDependency{Container: initC, Condition: awsecs.ContainerDependencyCondition_SUCCESS}

	web := c.Task.AddContainer(str("web"), &awsecs.ContainerDefinitionOptions{
		ContainerName: str("web"), Image: image, Essential: jsii.Bool(true),
		EntryPoint: entry, Command: strs(airflowStart + "webserver"),
		Environment: &env, Secrets: &secrets, Logging: c.Logging("web"),
		PortMappings: &[]*awsecs.PortMapping{{ContainerPort: num(c.App.Port)}},
	})
	web.AddContainerDependencies(after)
	sched := c.Task.AddContainer(str("scheduler"), &awsecs.ContainerDefinitionOptions{
		ContainerName: str("scheduler"), Image: image, Essential: jsii.Bool(true),
		EntryPoint: entry, Command: strs(airflowStart + "scheduler"),
		Environment: &env, Secrets: &secrets, Logging: c.Logging("scheduler"),
	})
	sched.AddContainerDependencies(after)
}
