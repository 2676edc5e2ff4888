// Command rollcall is Rollcall's server and its operator commands.
//
//	rollcall serve                      serve SCIM (and the rest) on an SQLite file or PostgreSQL
//	rollcall connection create …        add an IdP connection; prints its SCIM URL and token
//	rollcall token rotate|revoke|list … manage a connection's SCIM tokens
//	rollcall conformance --url --token  run the SCIM conformance suite against any server
//	rollcall load …                     replay IdP traffic against a running server and time it
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// errUsage is returned after a usage message has been printed.
var errUsage = errors.New("usage")

// exitCode is the status the program exits with after run returned err, which it reports on
// stderr unless it is a usage error: their commands (or the flag package) have printed those
// already, and an operator should read each message once. Usage errors exit 2, the rest 1.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	}
	fmt.Fprintln(stderr, "rollcall:", err)
	return 1
}

const usage = `Rollcall: SCIM provisioning, IdP group mapping and roles for every tenant.

Usage:
  rollcall serve                 serve on ROLLCALL_ADDR with ROLLCALL_DATABASE (default)
  rollcall connection create     --tenant T --name N --kind okta|entra|generic
  rollcall token rotate          --tenant T --connection N
  rollcall token revoke          --tenant T --connection N --id TOKEN_ID
  rollcall token list            --tenant T --connection N
  rollcall admin create          --tenant T --email E (a new administrator, for when none can sign in)
  rollcall conformance           --url SCIM_BASE_URL --token TOKEN [--other-token TOKEN]
  rollcall load                  --url SCIM_BASE_URL --token TOKEN [--scenario …] (see -h)

Run "rollcall <command> -h" for a command's flags.
`

// run is the whole program, with its environment passed in so tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", []string{}
	if len(args) > 1 {
		cmd, rest = args[1], args[2:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "connection":
		return runConnection(ctx, rest, getenv, stdout, stderr)
	case "token":
		return runToken(ctx, rest, getenv, stdout, stderr)
	case "admin":
		return runAdmin(ctx, rest, getenv, stdout, stderr)
	case "conformance":
		return runConformance(ctx, rest, getenv, stdout, stderr)
	case "load":
		return runLoad(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "rollcall: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}
