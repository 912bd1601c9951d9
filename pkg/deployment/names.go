package deployment

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

var (
	adjectives = []string{"amber", "brisk", "calm", "crisp", "dapper", "eager", "fleet", "gentle", "hardy",
		"keen", "lively", "lucid", "mellow", "nimble", "noble", "quiet", "rapid", "serene", "steady", "sunny",
		"swift", "tidy", "vivid", "witty"}
	nouns = []string{"falcon", "harbor", "meadow", "orbit", "pine", "river", "comet", "summit", "willow",
		"canyon", "delta", "ember", "fjord", "glacier", "lagoon", "maple", "nebula", "prairie", "quartz",
		"reef", "sparrow", "tundra", "valley", "zephyr"}
)

// GenerateName makes a readable default name such as "airflow-swift-falcon-4821".
func GenerateName(t AppType) string {
	return fmt.Sprintf("%s-%s-%s-%04d", t, pick(adjectives), pick(nouns), randInt(10000))
}

func pick(words []string) string { return words[randInt(len(words))] }

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0 // crypto/rand does not fail on supported platforms
	}
	return int(v.Int64())
}
