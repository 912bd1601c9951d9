package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/onvera/deployments/pkg/apierr"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/deployment"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store implements deployment.Store and apikey.Store on one table.
type Store struct {
	DB    API
	Table string
}

var (
	_ deployment.Store = (*Store)(nil)
	_ apikey.Store     = (*Store)(nil)
)

// New returns a store on table.
func New(db API, table string) *Store { return &Store{DB: db, Table: table} }

type depRecord struct {
	PK            string `dynamodbav:"PK"`
	SK            string `dynamodbav:"SK"`
	ID            string `dynamodbav:"id"`
	OrgID         string `dynamodbav:"org_id"`
	Name          string `dynamodbav:"name"`
	AppType       string `dynamodbav:"app_type"`
	Status        string `dynamodbav:"status"`
	URL           string `dynamodbav:"url,omitempty"`
	EnvironmentID string `dynamodbav:"environment_id"`
	CreatedAt     string `dynamodbav:"created_at"`
	UpdatedAt     string `dynamodbav:"updated_at"`
	Seq           int64  `dynamodbav:"seq"`
	OperationID   string `dynamodbav:"op_id,omitempty"`
	Version       int64  `dynamodbav:"version"`
}

type opRecord struct {
	PK           string               `dynamodbav:"PK"`
	SK           string               `dynamodbav:"SK"`
	ID           string               `dynamodbav:"id"`
	OrgID        string               `dynamodbav:"org_id"`
	DeploymentID string               `dynamodbav:"deployment_id"`
	Type         string               `dynamodbav:"type"`
	Status       string               `dynamodbav:"status"`
	CreatedAt    string               `dynamodbav:"created_at"`
	UpdatedAt    string               `dynamodbav:"updated_at"`
	CompletedAt  string               `dynamodbav:"completed_at,omitempty"`
	Error        *deployment.OpError  `dynamodbav:"error,omitempty"`
	Progress     *deployment.Progress `dynamodbav:"progress,omitempty"`
	DuePK        string               `dynamodbav:"due_pk,omitempty"`
	DueAt        string               `dynamodbav:"due_at,omitempty"`
}

type keyRecord struct {
	PK        string   `dynamodbav:"PK"`
	SK        string   `dynamodbav:"SK"`
	KeyID     string   `dynamodbav:"key_id"`
	OrgID     string   `dynamodbav:"org_id"`
	Scopes    []string `dynamodbav:"scopes"`
	CreatedAt string   `dynamodbav:"created_at"`
	RevokedAt string   `dynamodbav:"revoked_at,omitempty"`
	Hash      string   `dynamodbav:"key_hash,omitempty"` // on the directory item only
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// dueTS is fixed-width so that due_at strings sort in time order.
func dueTS(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func toDepRecord(d deployment.Deployment) depRecord {
	return depRecord{
		PK: orgPK(d.OrgID), SK: depSK(d.ID), ID: d.ID, OrgID: d.OrgID, Name: d.Name,
		AppType: string(d.AppType), Status: string(d.Status), URL: d.URL, EnvironmentID: d.EnvironmentID,
		CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt), Seq: d.Seq, OperationID: d.OperationID, Version: d.Version,
	}
}

func (r depRecord) domain() deployment.Deployment {
	return deployment.Deployment{
		ID: r.ID, OrgID: r.OrgID, Name: r.Name, AppType: deployment.AppType(r.AppType),
		Status: deployment.Status(r.Status), URL: r.URL, EnvironmentID: r.EnvironmentID,
		CreatedAt: parseTS(r.CreatedAt), UpdatedAt: parseTS(r.UpdatedAt), Seq: r.Seq,
		OperationID: r.OperationID, Version: r.Version,
	}
}

func toOpRecord(o deployment.Operation, due time.Time) opRecord {
	r := opRecord{
		PK: orgPK(o.OrgID), SK: opSK(o.ID), ID: o.ID, OrgID: o.OrgID, DeploymentID: o.DeploymentID,
		Type: string(o.Type), Status: string(o.Status), CreatedAt: ts(o.CreatedAt), UpdatedAt: ts(o.UpdatedAt),
		Error: o.Error,
	}
	if !o.CompletedAt.IsZero() {
		r.CompletedAt = ts(o.CompletedAt)
	}
	if !o.Status.Terminal() {
		r.DuePK, r.DueAt = inFlightPK, dueTS(due)
	}
	return r
}

func (r opRecord) domain() deployment.Operation {
	return deployment.Operation{
		ID: r.ID, OrgID: r.OrgID, DeploymentID: r.DeploymentID, Type: deployment.OpType(r.Type),
		Status: deployment.OpStatus(r.Status), CreatedAt: parseTS(r.CreatedAt), UpdatedAt: parseTS(r.UpdatedAt),
		CompletedAt: parseTS(r.CompletedAt), Error: r.Error, Progress: r.Progress,
	}
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: pk},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// conflict turns a lost condition into deployment.ErrConflict.
func conflict(err error) error {
	var ccf *types.ConditionalCheckFailedException
	var tce *types.TransactionCanceledException
	if errors.As(err, &ccf) {
		return deployment.ErrConflict
	}
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			// A transaction lost to a concurrent transaction is a race too.
			if c := aws.ToString(r.Code); c == "ConditionalCheckFailed" || c == "TransactionConflict" {
				return deployment.ErrConflict
			}
		}
	}
	return err
}

func (st *Store) get(ctx context.Context, pk, sk string, out any) (bool, error) {
	res, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &st.Table, Key: key(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, err
	}
	if res.Item == nil {
		return false, nil
	}
	return true, attributevalue.UnmarshalMap(res.Item, out)
}

func (st *Store) count(ctx context.Context, org string) (int64, error) {
	var meta struct {
		Deployments int64 `dynamodbav:"deployments"`
	}
	if _, err := st.get(ctx, orgPK(org), metaSK, &meta); err != nil {
		return 0, err
	}
	return meta.Deployments, nil
}

// createAttempts and the jittered backoff between them let a burst of
// creates in one organization (each round of the race has one winner) all
// land: 32 at once settle well inside this, and a request still losing
// after a few seconds is told to retry rather than failed.
const (
	createAttempts   = 40
	createBackoffMax = 100 * time.Millisecond
)

// CreateDeployment assigns the next dense sequence number and writes the
// counter, the deployment and its operation in one transaction; a concurrent
// create in the same organization makes the counter condition fail, and the
// store retries with the new count after a random pause, so the losers of one
// round do not collide again in the next.
func (st *Store) CreateDeployment(ctx context.Context, d *deployment.Deployment, op deployment.Operation, claim *deployment.Claim) error {
	for attempt := range createAttempts {
		if attempt > 0 {
			pause := rand.N(min(time.Millisecond<<attempt, createBackoffMax))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
		cur, err := st.count(ctx, d.OrgID)
		if err != nil {
			return err
		}
		d.Seq = cur + 1
		d.Version = 1
		dep, err := attributevalue.MarshalMap(toDepRecord(*d))
		if err != nil {
			return err
		}
		opItem, err := attributevalue.MarshalMap(toOpRecord(op, op.CreatedAt))
		if err != nil {
			return err
		}
		counterCond := "attribute_not_exists(PK)"
		vals := map[string]types.AttributeValue{":next": n(cur + 1)}
		if cur > 0 {
			counterCond = "deployments = :cur"
			vals[":cur"] = n(cur)
		}
		items := []types.TransactWriteItem{
			{Update: &types.Update{
				TableName: &st.Table, Key: key(orgPK(d.OrgID), metaSK),
				UpdateExpression:          aws.String("SET deployments = :next"),
				ConditionExpression:       &counterCond,
				ExpressionAttributeValues: vals,
			}},
			{Put: &types.Put{TableName: &st.Table, Item: dep, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
			{Put: &types.Put{TableName: &st.Table, Item: opItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		}
		if claim != nil {
			items = append(items, st.completeIdem(*claim, d.ID, op.ID))
		}
		_, err = st.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err = conflict(err); errors.Is(err, deployment.ErrConflict) {
			// Either another create took this number, or our own transaction
			// was applied and only its response was lost: then the retry's
			// condition fails on our own write. Tell the two apart.
			if mine, gerr := st.get(ctx, orgPK(d.OrgID), depSK(d.ID), &depRecord{}); gerr == nil && mine {
				return nil
			}
			continue
		}
		return err
	}
	return fmt.Errorf("create in org: %w", deployment.ErrConflict)
}

// GetDeployment reads one deployment; another organization's id is simply not found.
func (st *Store) GetDeployment(ctx context.Context, org, id string) (deployment.Deployment, error) {
	var r depRecord
	ok, err := st.get(ctx, orgPK(org), depSK(id), &r)
	if err != nil {
		return deployment.Deployment{}, err
	}
	if !ok {
		return deployment.Deployment{}, apierr.ErrDeploymentNotFound
	}
	return r.domain(), nil
}

// ListDeployments reads one page as a key range of the BySeq index.
func (st *Store) ListDeployments(ctx context.Context, org string, page, perPage int) (deployment.Page, error) {
	total, err := st.count(ctx, org)
	if err != nil {
		return deployment.Page{}, err
	}
	p := deployment.Page{Page: page, PerPage: perPage, Total: total, Items: []deployment.Deployment{}}
	hi := total - int64(page-1)*int64(perPage)
	if hi < 1 {
		return p, nil
	}
	lo := max(hi-int64(perPage)+1, 1)
	res, err := st.DB.Query(ctx, &dynamodb.QueryInput{
		TableName: &st.Table, IndexName: aws.String(IndexBySeq), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("PK = :pk AND seq BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(orgPK(org)), ":lo": n(lo), ":hi": n(hi)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(perPage)),
	})
	if err != nil {
		return p, err
	}
	var recs []depRecord
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &recs); err != nil {
		return p, err
	}
	for _, r := range recs {
		p.Items = append(p.Items, r.domain())
	}
	return p, nil
}

// BeginDelete moves the deployment (still at the version read) to destroying,
// writes the delete operation and fails a superseded create operation.
func (st *Store) BeginDelete(ctx context.Context, d deployment.Deployment, op deployment.Operation, cancel *deployment.Operation, claim *deployment.Claim) error {
	opItem, err := attributevalue.MarshalMap(toOpRecord(op, op.CreatedAt))
	if err != nil {
		return err
	}
	now := ts(op.CreatedAt)
	items := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &st.Table, Key: key(orgPK(d.OrgID), depSK(d.ID)),
			UpdateExpression:          aws.String("SET #s = :s, op_id = :op, version = :next, updated_at = :now"),
			ConditionExpression:       aws.String("version = :v"),
			ExpressionAttributeNames:  map[string]string{"#s": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":s": s(string(deployment.Destroying)), ":op": s(op.ID), ":v": n(d.Version), ":next": n(d.Version + 1), ":now": s(now)},
		}},
		{Put: &types.Put{TableName: &st.Table, Item: opItem, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}
	if cancel != nil {
		items = append(items, st.failOpUpdate(*cancel, deployment.OpError{
			Code: deployment.OpErrCancelled, Message: "Cancelled: the deployment was deleted before provisioning finished",
		}, op.CreatedAt))
	}
	if claim != nil {
		items = append(items, st.completeIdem(*claim, d.ID, op.ID))
	}
	_, err = st.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return conflict(err)
}

// failOpUpdate ends an in-flight operation as failed; it is a no-op race
// loser if the operation already finished.
func (st *Store) failOpUpdate(op deployment.Operation, e deployment.OpError, at time.Time) types.TransactWriteItem {
	errAV, _ := attributevalue.Marshal(e)
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &st.Table, Key: key(orgPK(op.OrgID), opSK(op.ID)),
		UpdateExpression:          aws.String("SET #s = :failed, #e = :err, completed_at = :now, updated_at = :now REMOVE due_pk, due_at"),
		ConditionExpression:       aws.String("#s IN (:pending, :running)"),
		ExpressionAttributeNames:  map[string]string{"#s": "status", "#e": "error"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":failed": s(string(deployment.OpFailed)), ":err": errAV, ":now": s(ts(at)), ":pending": s(string(deployment.OpPending)), ":running": s(string(deployment.OpRunning))},
	}}
}

// GetOperation reads one operation.
func (st *Store) GetOperation(ctx context.Context, org, id string) (deployment.Operation, error) {
	var r opRecord
	ok, err := st.get(ctx, orgPK(org), opSK(id), &r)
	if err != nil {
		return deployment.Operation{}, err
	}
	if !ok {
		return deployment.Operation{}, apierr.ErrOperationNotFound
	}
	return r.domain(), nil
}

// Touch moves an in-flight operation's reconciler deadline to next.
func (st *Store) Touch(ctx context.Context, op deployment.Operation, next time.Time) error {
	return st.updateInFlight(ctx, op, "SET due_at = :due", map[string]types.AttributeValue{":due": s(dueTS(next))})
}

// Advance writes op's status and updated_at as the provisioner holds them
// (running since its first step) with its progress and next check.
func (st *Store) Advance(ctx context.Context, op deployment.Operation, next time.Time, progress *deployment.Progress) error {
	set := "SET #s = :st, updated_at = :at, due_at = :due"
	vals := map[string]types.AttributeValue{":st": s(string(op.Status)), ":at": s(ts(op.UpdatedAt)), ":due": s(dueTS(next))}
	if progress != nil {
		av, err := attributevalue.Marshal(progress)
		if err != nil {
			return err
		}
		set += ", progress = :progress"
		vals[":progress"] = av
	}
	return st.updateInFlight(ctx, op, set, vals)
}

// updateInFlight applies set to op if it is still pending or running.
func (st *Store) updateInFlight(ctx context.Context, op deployment.Operation, set string, vals map[string]types.AttributeValue) error {
	vals[":pending"], vals[":running"] = s(string(deployment.OpPending)), s(string(deployment.OpRunning))
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &st.Table, Key: key(orgPK(op.OrgID), opSK(op.ID)),
		UpdateExpression:          aws.String(set),
		ConditionExpression:       aws.String("#s IN (:pending, :running)"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: vals,
	})
	return conflict(err)
}

// Finish ends the operation and moves the deployment in one transaction,
// conditional on the deployment still being in the expected status with this
// operation in flight, so a stale or duplicate message cannot move it.
func (st *Store) Finish(ctx context.Context, f deployment.Finish) error {
	opVals := map[string]types.AttributeValue{
		":st": s(string(f.OpStatus)), ":now": s(ts(f.At)),
		":pending": s(string(deployment.OpPending)), ":running": s(string(deployment.OpRunning)),
	}
	opSet := "SET #s = :st, completed_at = :now, updated_at = :now"
	opNames := map[string]string{"#s": "status"}
	if f.Error != nil {
		errAV, err := attributevalue.Marshal(f.Error)
		if err != nil {
			return err
		}
		opVals[":err"] = errAV
		opSet += ", #e = :err"
		opNames["#e"] = "error"
	}
	depVals := map[string]types.AttributeValue{
		":to": s(string(f.To)), ":from": s(string(f.Deployment.Status)), ":op": s(f.Op.ID), ":now": s(ts(f.At)), ":one": n(1),
	}
	depSet := "SET #s = :to, updated_at = :now ADD version :one REMOVE op_id"
	if f.URL != "" {
		depVals[":url"] = s(f.URL)
		depSet = "SET #s = :to, updated_at = :now, #u = :url ADD version :one REMOVE op_id"
	}
	depNames := map[string]string{"#s": "status"}
	if f.URL != "" {
		depNames["#u"] = "url"
	}
	_, err := st.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &st.Table, Key: key(orgPK(f.Op.OrgID), opSK(f.Op.ID)),
			UpdateExpression:          aws.String(opSet + " REMOVE due_pk, due_at"),
			ConditionExpression:       aws.String("#s IN (:pending, :running)"),
			ExpressionAttributeNames:  opNames,
			ExpressionAttributeValues: opVals,
		}},
		{Update: &types.Update{
			TableName: &st.Table, Key: key(orgPK(f.Op.OrgID), depSK(f.Op.DeploymentID)),
			UpdateExpression:          aws.String(depSet),
			ConditionExpression:       aws.String("#s = :from AND op_id = :op"),
			ExpressionAttributeNames:  depNames,
			ExpressionAttributeValues: depVals,
		}},
	}})
	return conflict(err)
}

// FailOperation ends a superseded operation as failed.
func (st *Store) FailOperation(ctx context.Context, op deployment.Operation, e deployment.OpError, now time.Time) error {
	u := st.failOpUpdate(op, e, now).Update
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
		ConditionExpression: u.ConditionExpression, ExpressionAttributeNames: u.ExpressionAttributeNames,
		ExpressionAttributeValues: u.ExpressionAttributeValues,
	})
	return conflict(err)
}

// Stale lists in-flight operations whose deadline is before the given time.
func (st *Store) Stale(ctx context.Context, before time.Time, limit int) ([]deployment.Operation, error) {
	res, err := st.DB.Query(ctx, &dynamodb.QueryInput{
		TableName: &st.Table, IndexName: aws.String(IndexInFlight),
		KeyConditionExpression:    aws.String("due_pk = :pk AND due_at < :before"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(inFlightPK), ":before": s(dueTS(before))},
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, err
	}
	var recs []opRecord
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &recs); err != nil {
		return nil, err
	}
	out := make([]deployment.Operation, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.domain())
	}
	return out, nil
}
