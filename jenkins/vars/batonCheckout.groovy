// batonCheckout: checks out `ref` (refs/heads/<branch> or a commit id) of the git repository
// `url` with the credential `credentialsId`, using git in the agent's jnlp container (the tool
// images may not have git), and returns the checked-out commit (40 hex). A checkout that yields
// no commit fails the build naming the repository.
def call(String url, String ref, String credentialsId) {
  def source
  container('jnlp') {
    source = checkout scmGit(
      branches: [[name: ref]],
      userRemoteConfigs: [[url: url, credentialsId: credentialsId]])
  }
  String commit = source.GIT_COMMIT
  if (!(commit ==~ /[0-9a-f]{40}/)) {
    error("checkout of ${url} returned no commit (got '${commit}')")
  }
  return commit
}
