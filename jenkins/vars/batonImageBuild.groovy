// batonImageBuild: the image job baton triggers, one declarative pipeline for every product image.
//
// A job calls it with its product's settings (jenkins/casc/values.yaml defines one job per image):
//
//   @Library('baton') _
//   batonImageBuild(product: 'micro-gw', image: 'petstore',
//                   baseImage: 'docker.wso2.com/wso2micro-gw:3.0.1',
//                   targetImage: 'registry.internal:5000/acme/petstore',
//                   artifactSource: 'https://github.com/acme/microgateway-petstore.git',
//                   artifactBranch: 'master',
//                   smokeTest: '/opt/petstore/bin/selftest')
//
// baton starts the job with buildWithParameters when the vendor base image moves or the artifact
// source gets a commit. The job builds the product image FROM the exact base digest it was given
// (BASE_REF), with buildah in a Kubernetes agent pod (no docker.sock), runs the image's smoke test
// inside the built image (SMOKE_TEST, default from `smokeTest`), and only when that passes pushes
// it under a tag unique per build (<baseTag>-<shortSha>-<buildNumber>), reads the pushed digest
// and reports it: POST /v1/products/<product>/images/<image>/built. A failing smoke test fails
// the build before the push: nothing is pushed, baton is told nothing and sends no image event.
//
// The artifact source's Dockerfile must take the base as a build argument:
//   ARG BASE_IMAGE
//   FROM ${BASE_IMAGE}
//
// Credentials (Jenkins credentials, created by JCasC from Kubernetes secrets):
//   base-registry-pull  username/password for the registry of BASE_REF (the vendor's)
//   registry-push       username/password for the TARGET_IMAGE registry
//   artifact-source-git username/token for the artifact-source repository
//   baton-api-token     secret text, a token listed in baton's api_tokens_file
// Secrets reach the shell only as environment variables bound by withCredentials, inside
// single-quoted scripts (Groovy never interpolates them), and go to tools on stdin. The report's
// JSON body is written by writeJSON (Pipeline Utility Steps) from plain Strings; it holds no secret.
import io.baton.Pods
import io.baton.Settings

def call(Map settings = [:]) {
  Map<String, String> defaults = [
    artifactBranch: 'main',
    batonUrl: 'http://baton.baton.svc.cluster.local:8080',
    // "false" only for plain-HTTP test registries (baton's registries[].insecure).
    registryTlsVerify: 'true',
  ]
  List<String> required = ['product', 'image', 'baseImage', 'targetImage', 'artifactSource', 'smokeTest']
  String problem = Settings.problem('batonImageBuild', settings, required, defaults)
  if (problem) {
    error(problem)
  }
  Map<String, String> c = Settings.merge(settings, defaults)

  pipeline {
    agent {
      kubernetes {
        defaultContainer 'buildah'
        yaml Pods.buildah()
      }
    }

    parameters {
      string(name: 'BASE_IMAGE', defaultValue: c.baseImage,
             description: 'Base image as configured in baton (repo:tag); its tag starts the image tag')
      string(name: 'BASE_DIGEST', defaultValue: '', description: 'Digest of BASE_IMAGE that baton saw (sha256:...)')
      string(name: 'BASE_REF', defaultValue: '', description: 'Exact base to build on: repo@sha256:... (set by baton)')
      string(name: 'TARGET_IMAGE', defaultValue: c.targetImage,
             description: 'Repository to push the product image to (no tag)')
      string(name: 'GIT_COMMIT', defaultValue: '', description: 'Artifact-source commit to build; empty = branch head')
      string(name: 'CAUSE', defaultValue: 'manual', description: 'base-image | artifact-source | manual')
      string(name: 'BATON_EVENT', defaultValue: '', description: 'baton event id, echoed back in the /built report')
      string(name: 'SMOKE_TEST', defaultValue: c.smokeTest,
             description: 'Shell command run by /bin/sh inside the built image before the push; non-zero fails the build')
    }

    environment {
      BATON_URL = "${c.batonUrl}"
      BATON_PRODUCT = "${c.product}"
      BATON_IMAGE = "${c.image}"
      ARTIFACT_SOURCE = "${c.artifactSource}"
      ARTIFACT_BRANCH = "${c.artifactBranch}"
      REGISTRY_TLS_VERIFY = "${c.registryTlsVerify}"
    }

    options {
      disableConcurrentBuilds()
      timeout(time: 45, unit: 'MINUTES')
      buildDiscarder(logRotator(numToKeepStr: '50'))
    }

    stages {
      stage('Check parameters') {
        steps {
          script {
            if (!(params.BASE_REF ==~ /[^@\s]+@sha256:[0-9a-f]{64}/)) {
              error("BASE_REF must be repo@sha256:<64 hex> (baton passes it); got '${params.BASE_REF}'")
            }
            if (!(params.TARGET_IMAGE ==~ /[^@:\s]+(:[0-9]+)?(\/[^@:\s]+)+/)) {
              error("TARGET_IMAGE must be a repository without tag or digest; got '${params.TARGET_IMAGE}'")
            }
            if (!(params.GIT_COMMIT ==~ /([0-9a-f]{7,40})?/)) {
              error("GIT_COMMIT must be empty or a commit id (7-40 hex); got '${params.GIT_COMMIT}'")
            }
            if (!(params.BATON_EVENT ==~ /[A-Za-z0-9._:-]*/)) {
              error("BATON_EVENT may hold only letters, digits and ._:- (got '${params.BATON_EVENT}')")
            }
            if (!params.SMOKE_TEST?.trim()) {
              error('SMOKE_TEST is empty: the image is tested before baton hears of it; set smokeTest in the job\'s batonImageBuild(...) map')
            }
          }
        }
      }

      stage('Checkout artifact source') {
        steps {
          script {
            String commit = batonCheckout(env.ARTIFACT_SOURCE,
                                          params.GIT_COMMIT ? params.GIT_COMMIT : "refs/heads/${env.ARTIFACT_BRANCH}",
                                          'artifact-source-git')
            env.SOURCE_COMMIT = commit
            String sha = commit.substring(0, 7)
            // The tag of BASE_IMAGE (repo:tag; a registry port is not a tag), else "latest".
            String last = params.BASE_IMAGE.tokenize('/').last().tokenize('@')[0]
            String baseTag = last.contains(':') ? last.substring(last.lastIndexOf(':') + 1) : 'latest'
            env.IMAGE_TAG = "${baseTag}-${sha}-${env.BUILD_NUMBER}"
            echo "building ${params.TARGET_IMAGE}:${env.IMAGE_TAG} on ${params.BASE_REF} (cause: ${params.CAUSE})"
          }
        }
      }

      stage('Build') {
        steps {
          withCredentials([usernamePassword(credentialsId: 'base-registry-pull',
                                            usernameVariable: 'BASE_REGISTRY_USER',
                                            passwordVariable: 'BASE_REGISTRY_PASSWORD')]) {
            sh '''
              set -eu
              base_registry="${BASE_REF%%/*}"
              printf '%s' "$BASE_REGISTRY_PASSWORD" | buildah login \
                --username "$BASE_REGISTRY_USER" --password-stdin "$base_registry"
              buildah bud --layers=false \
                --build-arg "BASE_IMAGE=$BASE_REF" \
                --label "org.opencontainers.image.base.name=$BASE_REF" \
                --label "org.opencontainers.image.revision=$SOURCE_COMMIT" \
                --tag "$TARGET_IMAGE:$IMAGE_TAG" .
              buildah logout "$base_registry"
            '''
          }
        }
      }

      stage('Test image') {
        steps {
          // The smoke test runs inside a working container of the image just built (buildah
          // run, chroot isolation like the build); any non-zero exit fails the build here, so a
          // broken image is never pushed nor reported to baton.
          sh '''
            set -eu
            ctr="$(buildah from "$TARGET_IMAGE:$IMAGE_TAG")"
            trap 'buildah rm "$ctr" >/dev/null' EXIT
            echo "smoke test of $TARGET_IMAGE:$IMAGE_TAG: $SMOKE_TEST"
            buildah run "$ctr" -- /bin/sh -c "$SMOKE_TEST"
          '''
        }
      }

      stage('Push') {
        steps {
          withCredentials([usernamePassword(credentialsId: 'registry-push',
                                            usernameVariable: 'REGISTRY_USER',
                                            passwordVariable: 'REGISTRY_PASSWORD')]) {
            sh '''
              set -eu
              registry="${TARGET_IMAGE%%/*}"
              printf '%s' "$REGISTRY_PASSWORD" | buildah login --tls-verify="$REGISTRY_TLS_VERIFY" \
                --username "$REGISTRY_USER" --password-stdin "$registry"
              buildah push --tls-verify="$REGISTRY_TLS_VERIFY" --digestfile image.digest \
                "$TARGET_IMAGE:$IMAGE_TAG" "docker://$TARGET_IMAGE:$IMAGE_TAG"
              buildah logout "$registry"
            '''
          }
          script {
            String digest = readFile('image.digest').trim()
            if (!(digest ==~ /sha256:[0-9a-f]{64}/)) {
              error("buildah push wrote no digest to image.digest (got '${digest}')")
            }
            env.IMAGE_DIGEST = digest
          }
        }
      }

      stage('Report to baton') {
        steps {
          script {
            // build_url and event_id are left out when empty (a manual build has no baton event).
            Map<String, String> body = [reference: params.TARGET_IMAGE + '@' + env.IMAGE_DIGEST,
                                        tag: env.IMAGE_TAG.toString()]
            if (env.BUILD_URL) {
              body.build_url = env.BUILD_URL.toString()
            }
            if (params.BATON_EVENT) {
              body.event_id = params.BATON_EVENT.toString()
            }
            writeJSON file: 'baton-built.json', json: body
          }
          container('curl') {
            batonPost("/v1/products/${env.BATON_PRODUCT}/images/${env.BATON_IMAGE}/built", 'baton-built.json')
          }
        }
      }
    }

    post {
      success {
        echo "pushed ${params.TARGET_IMAGE}@${env.IMAGE_DIGEST} and reported it to baton"
      }
    }
  }
}
