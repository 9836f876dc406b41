package graphqlapi

import (
	"log/slog"
	"testing"
)

// The schema and the resolvers' method sets must agree; graphql-go checks
// it when parsing, so a drift fails here before any request does.
func TestNew_SchemaMatchesResolvers(t *testing.T) {
	if _, err := New(Deps{Logger: slog.Default()}); err != nil {
		t.Fatal(err)
	}
}
