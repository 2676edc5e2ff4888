package conformance_test

import (
	"os"
	"testing"

	"github.com/rollcall/rollcall/conformance"
)

// TestConformance runs the suite against the SCIM service provider named by
// the environment, so any deployment can be checked with go test.
func TestConformance(t *testing.T) {
	url := os.Getenv("SCIM_CONFORMANCE_URL")
	if url == "" {
		t.Skip(`SCIM_CONFORMANCE_URL is not set, so there is no SCIM server to check. To run the suite against a deployment:

    SCIM_CONFORMANCE_URL=https://host/scim/v2 \
    SCIM_CONFORMANCE_TOKEN=<bearer token of an IdP connection> \
    SCIM_CONFORMANCE_TOKEN2=<optional: token of a second connection of the same tenant> \
    go test ./conformance/ -run TestConformance -v

The suite creates users and groups with random names and deletes them afterwards.`)
	}
	token := os.Getenv("SCIM_CONFORMANCE_TOKEN")
	if token == "" {
		t.Fatal("SCIM_CONFORMANCE_URL is set but SCIM_CONFORMANCE_TOKEN is empty: give the bearer token of an IdP connection")
	}
	conformance.Run(t, conformance.Target{
		BaseURL:    url,
		Token:      token,
		OtherToken: os.Getenv("SCIM_CONFORMANCE_TOKEN2"),
	})
}
