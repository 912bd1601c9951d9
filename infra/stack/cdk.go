package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Small helpers so the constructs read like the template they make.

func str(s string) *string              { return jsii.String(s) }
func num(n float64) *float64            { return jsii.Number(n) }
func boolean(b bool) *bool              { return jsii.Bool(b) }
func strs(s ...string) *[]*string       { return jsii.Strings(s...) }
func seconds(n float64) awscdk.Duration { return awscdk.Duration_Seconds(num(n)) }
func minutes(n float64) awscdk.Duration { return awscdk.Duration_Minutes(num(n)) }
