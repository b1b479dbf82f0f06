// batonPost: POSTs a JSON file of the workspace to baton's API, as batonImageBuild and
// batonChartSync report to baton. `path` is the API path (/v1/...), `bodyFile` a file written by
// writeJSON. Needs BATON_URL in the environment and the credential baton-api-token (secret
// text, a token listed in baton's api_tokens_file). The token goes to curl on stdin as a header
// (-H @-) from a single-quoted script, so Groovy never interpolates it and it is on no command
// line; curl has a timeout and bounded retries; a non-2xx answer fails the build with baton's
// body (--fail-with-body).
def call(String path, String bodyFile) {
  withEnv(["BATON_PATH=${path}", "BATON_BODY=${bodyFile}"]) {
    withCredentials([string(credentialsId: 'baton-api-token', variable: 'BATON_TOKEN')]) {
      sh '''
        set -eu
        printf 'Authorization: Bearer %s\\n' "$BATON_TOKEN" | curl --fail-with-body -sS \
          --max-time 30 --retry 5 --retry-connrefused --retry-max-time 120 \
          -H @- -H 'Content-Type: application/json' --data-binary "@$BATON_BODY" \
          "$BATON_URL$BATON_PATH"
      '''
    }
  }
}
