// Package conformance is a SCIM 2.0 (RFC 7643, RFC 7644) conformance suite
// that runs over HTTP against any SCIM service provider, including the
// request shapes Okta and Microsoft Entra ID really send. It imports only the
// standard library.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Target is the SCIM service provider under test.
type Target struct {
	// BaseURL is the SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2.
	BaseURL string
	// Token is a bearer token accepted by the service provider.
	Token string
	// OtherToken is optional: a token of another IdP connection of the same
	// tenant. The ownership cases are skipped when it is empty.
	OtherToken string
	// Client is optional; the default has a 60 s timeout, the time Okta and
	// Entra ID wait before they give up on a request.
	Client *http.Client
}

// tb is what a case needs from its test: *testing.T satisfies it, and so
// does the reporter RunReport uses. Fatalf and Skipf end the case.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Skipf(format string, args ...any)
	Cleanup(func())
	Context() context.Context
}

var _ tb = (*testing.T)(nil)

// testCase is one named, independent conformance check.
type testCase struct {
	name string
	fn   func(e *env)
}

// Run runs every case as a subtest of t, in order.
func Run(t *testing.T, target Target) {
	t.Helper()
	r, err := newRunner(target)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.cases() {
		t.Run(c.name, func(t *testing.T) {
			c.fn(r.env(t))
		})
	}
}

// RunReport runs the same cases as Run without the testing package and
// writes one line per case to w: PASS, FAIL or SKIP, the case name, and for
// a failure or a skip the reason. It returns an error when any case failed.
func RunReport(ctx context.Context, target Target, w io.Writer) error {
	r, err := newRunner(target)
	if err != nil {
		return err
	}
	var pass, fail, skip int
	var failed []string
	for _, c := range r.cases() {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		res := runCase(ctx, r, c)
		d := time.Since(start).Round(time.Millisecond)
		switch {
		case res.failed:
			fail++
			failed = append(failed, c.name)
			fmt.Fprintf(w, "FAIL %s (%s): %s\n", c.name, d, oneLine(strings.Join(res.errors, "; ")))
		case res.skipped:
			skip++
			fmt.Fprintf(w, "SKIP %s: %s\n", c.name, oneLine(res.skip))
		default:
			pass++
			fmt.Fprintf(w, "PASS %s (%s)\n", c.name, d)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", pass, fail, skip)
	if fail > 0 {
		return fmt.Errorf("scim conformance: %d of %d cases failed: %s", fail, pass+fail+skip, strings.Join(failed, ", "))
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

type result struct {
	failed, skipped bool
	errors          []string
	skip            string
	logs            []string
}

// reporter implements tb outside the testing package. Like testing.T, it
// ends the case's goroutine on Fatalf and Skipf, cancels its context when
// the case returns, then runs the cleanups in reverse order.
type reporter struct {
	ctx      context.Context
	mu       sync.Mutex
	res      result
	cleanups []func()
}

func (r *reporter) Helper() {}

func (r *reporter) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.failed = true
	r.res.errors = append(r.res.errors, fmt.Sprintf(format, args...))
}

func (r *reporter) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *reporter) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.logs = append(r.res.logs, fmt.Sprintf(format, args...))
}

func (r *reporter) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.res.skipped = true
	r.res.skip = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *reporter) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *reporter) Context() context.Context { return r.ctx }

func runCase(ctx context.Context, run *runner, c testCase) result {
	ctx, cancel := context.WithCancel(ctx)
	rep := &reporter{ctx: ctx}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			cancel()
			for i := len(rep.cleanups) - 1; i >= 0; i-- {
				func() {
					defer func() {
						if p := recover(); p != nil {
							rep.Errorf("cleanup panicked: %v", p)
						}
					}()
					rep.cleanups[i]()
				}()
			}
		}()
		defer func() {
			if p := recover(); p != nil {
				rep.Errorf("panic: %v", p)
			}
		}()
		c.fn(run.env(rep))
	}()
	<-done
	return rep.res
}

// runner holds what the cases of one run share.
type runner struct {
	target Target
	base   string
	client *http.Client

	spcOnce sync.Once
	spc     map[string]any
	spcErr  error
}

func newRunner(target Target) (*runner, error) {
	base := strings.TrimRight(target.BaseURL, "/")
	if base == "" {
		return nil, errors.New("scim conformance: Target.BaseURL is empty")
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("scim conformance: Target.BaseURL %q must start with http:// or https://", target.BaseURL)
	}
	if target.Token == "" {
		return nil, errors.New("scim conformance: Target.Token is empty")
	}
	client := target.Client
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	return &runner{target: target, base: base, client: client}, nil
}

func (r *runner) env(t tb) *env {
	return &env{t: t, r: r, token: r.target.Token}
}

// cases is the ordered list of every case: the RFC checks, then one case per
// recorded IdP flow.
func (r *runner) cases() []testCase {
	cs := append([]testCase(nil), rfcCases...)
	flows, err := loadFlows(fixtures, "testdata")
	if err != nil {
		// The fixtures are embedded and checked by the package's own tests,
		// so this only happens to a broken build; report it as a failing case.
		return append(cs, testCase{"Flows", func(e *env) { e.t.Fatalf("loading the IdP fixtures: %v", err) }})
	}
	for _, f := range flows {
		cs = append(cs, testCase{"Flows/" + f.name, func(e *env) { runFlow(e, f) }})
	}
	return cs
}

// rfcCases are the RFC 7643/7644 checks, in the order they run.
var rfcCases = []testCase{
	{"Discovery/ServiceProviderConfig", testServiceProviderConfig},
	{"Discovery/ResourceTypes", testResourceTypes},
	{"Discovery/Schemas", testSchemas},
	{"Discovery/SchemaByID", testSchemaByID},
	{"Auth/NoToken", testAuthNoToken},
	{"Auth/WrongToken", testAuthWrongToken},
	{"Users/Create", testUserCreate},
	{"Users/Get", testUserGet},
	{"Users/GetUnknown", testUserGetUnknown},
	{"Users/Replace", testUserReplace},
	{"Users/Patch", testUserPatch},
	{"Users/Delete", testUserDelete},
	{"Users/UniqueUserName", testUserUnique},
	{"Users/UniqueUserNameIgnoresCase", testUserUniqueIgnoresCase},
	{"Users/PasswordNeverReturned", testUserPasswordNeverReturned},
	{"Users/ActiveAsString", testUserActiveString},
	{"Users/IgnoresUnknownAndReadOnly", testUserIgnoresUnknown},
	{"Users/AttributeNamesIgnoreCase", testUserAttributeNamesIgnoreCase},
	{"Users/AcceptsApplicationJSON", testUserApplicationJSON},
	{"Users/RequiresUserName", testUserRequiresUserName},
	{"Users/ReplaceIgnoresUnknown", testUserReplaceIgnoresUnknown},
	{"Filters/Operators", testFilterOperators},
	{"Filters/NoMatch", testFilterNoMatch},
	{"Filters/Invalid", testFilterInvalid},
	{"Filters/UnknownAttribute", testFilterUnknownAttribute},
	{"Pagination/Pages", testPaginationPages},
	{"Pagination/CountZero", testPaginationCountZero},
	{"Pagination/OutOfRange", testPaginationOutOfRange},
	{"Projection/Attributes", testProjectionAttributes},
	{"Projection/ExcludedAttributes", testProjectionExcluded},
	{"Groups/CRUD", testGroupCRUD},
	{"Groups/FilterExcludingMembers", testGroupFilterExcludingMembers},
	{"Groups/PatchAddMember", testGroupAddMember},
	{"Groups/PatchRemoveMemberByFilter", testGroupRemoveByFilter},
	{"Groups/PatchRemoveMembersByValue", testGroupRemoveByValue},
	{"Groups/PatchRemoveAllMembers", testGroupRemoveAll},
	{"Groups/PatchReplaceMembers", testGroupReplaceMembers},
	{"Groups/PatchReplaceMembersEmpty", testGroupReplaceMembersEmpty},
	{"Groups/PatchNoOps", testGroupNoOps},
	{"Groups/PatchUnknownMember", testGroupUnknownMember},
	{"Groups/PatchRename", testGroupRename},
	{"Groups/Replace", testGroupReplace},
	{"Patch/OpsInOrder", testPatchOpsInOrder},
	{"Patch/Atomic", testPatchAtomic},
	{"Patch/InvalidPath", testPatchInvalidPath},
	{"Patch/BadSchemas", testPatchBadSchemas},
	{"Patch/UnknownOp", testPatchUnknownOp},
	{"Patch/NullUnassigns", testPatchNullUnassigns},
	{"Patch/RemoveWithoutPath", testPatchRemoveWithoutPath},
	{"Errors/MalformedJSON", testMalformedJSON},
	{"ETag/Versions", testETag},
	{"Sort/SortBy", testSort},
	{"Limits/BodyTooLarge", testBodyTooLarge},
	{"Ownership/OtherConnectionCannotModify", testOwnershipModify},
	{"Ownership/UserNameUniqueAcrossConnections", testOwnershipUnique},
}
