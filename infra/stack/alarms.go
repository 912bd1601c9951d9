package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
)

// API5xxRate is the share of requests answered 5xx (over 5 minutes) that alarms.
const API5xxRate = 0.01

// Alarms watch what needs a human: a task in the DLQ (its operation was
// marked failed), any Lambda error or throttle, and the API's 5xx rate.
type Alarms struct {
	constructs.Construct
}

// NewAlarms declares the alarms; with an SNS topic ARN in the settings they notify it.
func NewAlarms(scope constructs.Construct, id string, s Settings, q *Queue, api *API, fns []awslambda.Function, names []string) *Alarms {
	c := constructs.NewConstruct(scope, str(id))
	a := &Alarms{Construct: c}
	var action awscloudwatch.IAlarmAction
	if s.AlarmTopicARN != "" {
		action = awscloudwatchactions.NewSnsAction(awssns.Topic_FromTopicArn(c, str("Topic"), str(s.AlarmTopicARN)))
	}
	add := func(name, what string, metric awscloudwatch.IMetric, threshold float64) {
		al := awscloudwatch.NewAlarm(c, str(name), &awscloudwatch.AlarmProps{
			AlarmDescription:   str(what),
			Metric:             metric,
			Threshold:          num(threshold),
			EvaluationPeriods:  num(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if action != nil {
			al.AddAlarmAction(action)
		}
	}
	fiveMin := &awscloudwatch.MetricOptions{Period: minutes(5), Statistic: str("Sum")}
	add("DeadLetters", "provisioning tasks reached the dead-letter queue; their operations are failed",
		q.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minutes(1), Statistic: str("Maximum")}), 0)
	for i, fn := range fns {
		add(names[i]+"-Errors", names[i]+" returned errors", fn.MetricErrors(fiveMin), 0)
		add(names[i]+"-Throttles", names[i]+" was throttled", fn.MetricThrottles(fiveMin), 0)
	}
	// API Gateway records 5xx as 0 or 1 per request, so its Average is the 5xx
	// rate: no metric math needed (which MiniStack's CloudFormation rejects).
	rate := api.Stage.MetricServerError(&awscloudwatch.MetricOptions{Period: minutes(5), Statistic: str("Average")})
	add("Api5xxRate", "more than 1% of API requests answered 5xx", rate, API5xxRate)
	return a
}
