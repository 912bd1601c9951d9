package dynamostore

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/onvera/deployments/pkg/apikey"
	"github.com/onvera/deployments/pkg/deployment"
)

func (r keyRecord) domain(hash string) apikey.Key {
	k := apikey.Key{Hash: hash, ID: r.KeyID, OrgID: r.OrgID, CreatedAt: parseTS(r.CreatedAt), RevokedAt: parseTS(r.RevokedAt)}
	for _, sc := range r.Scopes {
		k.Scopes = append(k.Scopes, apikey.Scope(sc))
	}
	return k
}

// PutKey stores a new key record (never the secret).
func (st *Store) PutKey(ctx context.Context, k apikey.Key) error {
	r := keyRecord{PK: keyPK(k.Hash), SK: keySK, KeyID: k.ID, OrgID: k.OrgID, CreatedAt: ts(k.CreatedAt)}
	for _, sc := range k.Scopes {
		r.Scopes = append(r.Scopes, string(sc))
	}
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return err
	}
	_, err = st.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &st.Table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)"),
	})
	if errors.Is(conflict(err), deployment.ErrConflict) {
		// The hash of a fresh random secret cannot already exist, unless our
		// own write was applied and only its response was lost, so the SDK's
		// retry met it. Confirm it is ours.
		if got, gerr := st.getKeyConsistent(ctx, k.Hash); gerr == nil && got.OrgID == k.OrgID && got.CreatedAt.Equal(k.CreatedAt) {
			return nil
		}
	}
	return err
}

func (st *Store) getKeyConsistent(ctx context.Context, hash string) (apikey.Key, error) {
	var r keyRecord
	ok, err := st.get(ctx, keyPK(hash), keySK, &r)
	if err != nil {
		return apikey.Key{}, err
	}
	if !ok {
		return apikey.Key{}, apikey.ErrNotFound
	}
	return r.domain(hash), nil
}

// GetKey looks a key up by the hash of its secret.
func (st *Store) GetKey(ctx context.Context, hash string) (apikey.Key, error) {
	var r keyRecord
	// Eventually consistent: half the cost, and a new key is used by a person
	// seconds after it is minted, not microseconds.
	res, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.Table, Key: key(keyPK(hash), keySK)})
	if err != nil {
		return apikey.Key{}, err
	}
	if res.Item == nil {
		return apikey.Key{}, apikey.ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(res.Item, &r); err != nil {
		return apikey.Key{}, err
	}
	return r.domain(hash), nil
}

// ListKeys scans key records, optionally of one organization. An admin path:
// keys are few, and a scan keeps the hot lookup a single GetItem.
func (st *Store) ListKeys(ctx context.Context, org string) ([]apikey.Key, error) {
	filter := "begins_with(PK, :k) AND SK = :sk"
	vals := map[string]types.AttributeValue{":k": s("KEY#"), ":sk": s(keySK)}
	if org != "" {
		filter += " AND org_id = :org"
		vals[":org"] = s(org)
	}
	var out []apikey.Key
	p := dynamodb.NewScanPaginator(st.DB, &dynamodb.ScanInput{
		TableName: &st.Table, FilterExpression: &filter, ExpressionAttributeValues: vals,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			var r keyRecord
			if err := attributevalue.UnmarshalMap(item, &r); err != nil {
				return nil, err
			}
			out = append(out, r.domain(r.PK[len("KEY#"):]))
		}
	}
	return out, nil
}

// RevokeKey marks the key with the given public id revoked.
func (st *Store) RevokeKey(ctx context.Context, id string, at time.Time) (apikey.Key, error) {
	keys, err := st.ListKeys(ctx, "")
	if err != nil {
		return apikey.Key{}, err
	}
	for _, k := range keys {
		if k.ID != id {
			continue
		}
		_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &st.Table, Key: key(keyPK(k.Hash), keySK),
			UpdateExpression:          aws.String("SET revoked_at = if_not_exists(revoked_at, :at)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":at": s(ts(at))},
		})
		if err != nil {
			return apikey.Key{}, err
		}
		k.RevokedAt = at
		return k, nil
	}
	return apikey.Key{}, apikey.ErrNotFound
}
