// batonChartSync: for teams that want Jenkins, not baton, to own the chart-source poll. One
// declarative pipeline for every product; a job calls it with its product's settings
// (jenkins/casc/values.yaml defines one per product and polls the chart source via pollSCM):
//
//   @Library('baton') _
//   batonChartSync(product: 'micro-gw',
//                  chartSource: 'https://github.com/acme/cicd-sample-chart-mgw.git',
//                  chartBranch: 'master')
//
// On a new commit it asks baton to run the chart job for that commit:
// POST /v1/products/<product>/sync {"commit": "<sha>"}. baton then downloads the chart, reads
// values-<env>.yaml at that commit and, if anything changed, posts one webhook to Spinnaker.
// Docs-only commits produce nothing (baton's idempotency key).
//
// Credentials: chart-source-git (username/token for the chart-source repository) and
// baton-api-token (secret text, a token listed in baton's api_tokens_file). The token reaches
// curl on stdin from a single-quoted script; Groovy never interpolates it. The JSON body is
// written by writeJSON (Pipeline Utility Steps).
import io.baton.Pods
import io.baton.Settings

def call(Map settings = [:]) {
  Map<String, String> defaults = [
    chartBranch: 'main',
    batonUrl: 'http://baton.baton.svc.cluster.local:8080',
  ]
  String problem = Settings.problem('batonChartSync', settings, ['product', 'chartSource'], defaults)
  if (problem) {
    error(problem)
  }
  Map<String, String> c = Settings.merge(settings, defaults)

  pipeline {
    agent {
      kubernetes {
        defaultContainer 'curl'
        yaml Pods.curl()
      }
    }

    environment {
      BATON_URL = "${c.batonUrl}"
      BATON_PRODUCT = "${c.product}"
      CHART_SOURCE = "${c.chartSource}"
      CHART_BRANCH = "${c.chartBranch}"
    }

    options {
      disableConcurrentBuilds()
      timeout(time: 10, unit: 'MINUTES')
      buildDiscarder(logRotator(numToKeepStr: '100'))
    }

    stages {
      stage('Checkout chart source') {
        steps {
          script {
            String commit = batonCheckout(env.CHART_SOURCE, "refs/heads/${env.CHART_BRANCH}", 'chart-source-git')
            env.CHART_COMMIT = commit
            writeJSON file: 'baton-sync.json', json: [commit: commit]
          }
        }
      }

      stage('Ask baton to sync') {
        steps {
          batonPost("/v1/products/${env.BATON_PRODUCT}/sync", 'baton-sync.json')
        }
      }
    }
  }
}
