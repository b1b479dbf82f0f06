// batonVerify: the verification job that ends every deploy pipeline baton renders. Spinnaker's
// Jenkins stage (`baton pipelines render`, stage "verify") starts it through igor with
// ENVIRONMENT and NAMESPACE after the deploy, waits for it, and fails the execution unless the
// build ends SUCCESS; `baton promote` allows the next environment only after a SUCCEEDED
// execution, so promotion includes this verification. One pipeline for every product:
//
//   @Library('baton') _
//   batonVerify(product: 'micro-gw',
//               smokeTest: 'curl -fsS --max-time 10 "http://petstore.$NAMESPACE.svc:9090/health"')
//
// The smoke test is a shell command run in the curl container with ENVIRONMENT, NAMESPACE and
// BATON_PRODUCT set; a non-zero exit fails the build. It holds no credentials.
import io.baton.Pods
import io.baton.Settings

def call(Map settings = [:]) {
  String problem = Settings.problem('batonVerify', settings, ['product', 'smokeTest'], [:])
  if (problem) {
    error(problem)
  }
  Map<String, String> c = Settings.merge(settings, [:])

  pipeline {
    agent {
      kubernetes {
        defaultContainer 'curl'
        yaml Pods.curl()
      }
    }

    parameters {
      string(name: 'ENVIRONMENT', defaultValue: '', description: 'Environment just deployed (set by the Spinnaker stage)')
      string(name: 'NAMESPACE', defaultValue: '', description: 'Its Kubernetes namespace, <product>-<environment>')
      string(name: 'SMOKE_TEST', defaultValue: c.smokeTest,
             description: 'Shell command checking the environment; non-zero fails the build and the Spinnaker execution')
    }

    environment {
      BATON_PRODUCT = "${c.product}"
    }

    options {
      timeout(time: 20, unit: 'MINUTES')
      buildDiscarder(logRotator(numToKeepStr: '100'))
    }

    stages {
      stage('Check parameters') {
        steps {
          script {
            if (!(params.ENVIRONMENT ==~ /[a-z0-9]([a-z0-9-]*[a-z0-9])?/)) {
              error("ENVIRONMENT must be an environment name (lowercase letters, digits, -); got '${params.ENVIRONMENT}'")
            }
            if (!(params.NAMESPACE ==~ /[a-z0-9]([a-z0-9-]*[a-z0-9])?/)) {
              error("NAMESPACE must be a Kubernetes namespace name; got '${params.NAMESPACE}'")
            }
            if (!params.SMOKE_TEST?.trim()) {
              error('SMOKE_TEST is empty; set smokeTest in the job\'s batonVerify(...) map')
            }
          }
        }
      }

      stage('Smoke test') {
        steps {
          sh '''
            set -eu
            echo "verifying $BATON_PRODUCT in $ENVIRONMENT (namespace $NAMESPACE): $SMOKE_TEST"
            sh -c "$SMOKE_TEST"
          '''
        }
      }
    }
  }
}
