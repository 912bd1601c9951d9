// Package dynamostore keeps deployments, operations and API keys in one
// DynamoDB table. Key design and access patterns (calls, keys, items read):
//
//	item          PK              SK            extra keys
//	org counter   ORG#<org>       META          deployments (N): how many ever created
//	deployment    ORG#<org>       DEP#<id>      seq (N): 1-based creation number, LSI BySeq
//	operation     ORG#<org>       OP#<id>       due_pk/due_at while in flight, GSI InFlight
//	api key       KEY#<sha256>    KEY           key_id (short public id)
//	key directory KEYS            ID#<key_id>   key_hash, org, scopes (admin list/revoke)
//	idempotency   ORG#<org>       IDEM#<sha256> expires_at (TTL, 24 h); see idempotency.go
//
//	get key         GetItem KEY#h/KEY                          1 call, 1 item
//	mint key        TransactWriteItems (KEY#h, KEYS/ID#id)      1 call
//	list keys       Query KEYS [filter org]                     1 call per 1 MB
//	revoke key      GetItem KEYS/ID#id + TransactWriteItems     2 calls
//	create          GetItem META + TransactWriteItems           2 calls (1 read, 1 write)
//	                (META count n->n+1, put DEP seq n+1, put OP
//	                [, IDEM claim -> done]; with Idempotency-Key +1 PutItem claim)
//	get deployment  GetItem ORG#o/DEP#id                       1 call, 1 item
//	list page p     GetItem META (total) + Query BySeq          2 calls, <= per_page+1 items
//	                seq BETWEEN n-p*pp+1 AND n-(p-1)*pp, descending
//	delete          GetItem DEP + TransactWriteItems            2 calls
//	                (DEP at version v -> destroying, put OP, cancel create OP)
//	get operation   GetItem ORG#o/OP#id                        1 call, 1 item
//	stale ops       Query InFlight due_pk=INFLIGHT, due_at<now  1 call per 100
//
// Deployments are never removed (destroyed ones stay listed with status
// destroyed), so seq stays dense and any page is a key-range read: the cost
// of page 1 and page 1000 is the same. Everything of an organization shares
// one partition key, so no query can cross organizations.
package dynamostore

// Attribute and index names, shared with infra/ and the local setup.
const (
	AttrPK      = "PK"
	AttrSK      = "SK"
	AttrSeq     = "seq"
	AttrDuePK   = "due_pk"
	AttrDueAt   = "due_at"
	AttrExpires = "expires_at" // TTL attribute (idempotency records)

	IndexBySeq    = "BySeq"    // LSI: PK + seq, projects all
	IndexInFlight = "InFlight" // GSI: due_pk + due_at, sparse, projects all

	inFlightPK = "INFLIGHT"
)

func orgPK(org string) string   { return "ORG#" + org }
func depSK(id string) string    { return "DEP#" + id }
func opSK(id string) string     { return "OP#" + id }
func keyPK(hash string) string  { return "KEY#" + hash }
func keyDirSK(id string) string { return "ID#" + id }

const (
	metaSK = "META"
	keySK  = "KEY"
	keysPK = "KEYS" // the key directory: few items, read only by the admin CLI
)
