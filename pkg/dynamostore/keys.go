package dynamostore

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/onvera/deployments/pkg/apikey"
)

func (r keyRecord) domain(hash string) apikey.Key {
	k := apikey.Key{Hash: hash, ID: r.KeyID, OrgID: r.OrgID, CreatedAt: parseTS(r.CreatedAt), RevokedAt: parseTS(r.RevokedAt)}
	for _, sc := range r.Scopes {
		k.Scopes = append(k.Scopes, apikey.Scope(sc))
	}
	return k
}

// PutKey stores a new key: the lookup record under its hash and its entry in
// the key directory, in one transaction (never the secret).
func (st *Store) PutKey(ctx context.Context, k apikey.Key) error {
	r := keyRecord{PK: keyPK(k.Hash), SK: keySK, KeyID: k.ID, OrgID: k.OrgID, CreatedAt: ts(k.CreatedAt)}
	for _, sc := range k.Scopes {
		r.Scopes = append(r.Scopes, string(sc))
	}
	dir := r
	dir.PK, dir.SK, dir.Hash = keysPK, keyDirSK(k.ID), k.Hash
	var items []types.TransactWriteItem
	for _, rec := range []keyRecord{r, dir} {
		item, err := attributevalue.MarshalMap(rec)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: &st.Table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)"),
		}})
	}
	// A retry after a lost response carries the SDK's same ClientRequestToken,
	// so DynamoDB treats it as the same request rather than a conflict.
	_, err := st.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
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

// ListKeys reads the key directory, optionally of one organization: one
// Query over the KEYS partition, never a scan of the table.
func (st *Store) ListKeys(ctx context.Context, org string) ([]apikey.Key, error) {
	in := &dynamodb.QueryInput{
		TableName: &st.Table, KeyConditionExpression: aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(keysPK)},
	}
	if org != "" {
		in.FilterExpression = aws.String("org_id = :org")
		in.ExpressionAttributeValues[":org"] = s(org)
	}
	var out []apikey.Key
	p := dynamodb.NewQueryPaginator(st.DB, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		var recs []keyRecord
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &recs); err != nil {
			return nil, err
		}
		for _, r := range recs {
			out = append(out, r.domain(r.Hash))
		}
	}
	return out, nil
}

// RevokeKey marks the key with the given public id revoked, in its lookup
// record and its directory entry.
func (st *Store) RevokeKey(ctx context.Context, id string, at time.Time) (apikey.Key, error) {
	var dir keyRecord
	ok, err := st.get(ctx, keysPK, keyDirSK(id), &dir)
	if err != nil {
		return apikey.Key{}, err
	}
	if !ok {
		return apikey.Key{}, apikey.ErrNotFound
	}
	revoke := func(pk, sk string) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: &st.Table, Key: key(pk, sk),
			UpdateExpression:          aws.String("SET revoked_at = if_not_exists(revoked_at, :at)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":at": s(ts(at))},
		}}
	}
	if _, err := st.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		revoke(keyPK(dir.Hash), keySK), revoke(keysPK, keyDirSK(id)),
	}}); err != nil {
		return apikey.Key{}, err
	}
	k := dir.domain(dir.Hash)
	if k.RevokedAt.IsZero() {
		k.RevokedAt = at
	}
	return k, nil
}
