// Agent pods of baton's library steps (Kubernetes plugin `agent { kubernetes { yaml ... } }`),
// written once: a non-root curl container for the calls to baton and smoke tests, and buildah
// (vfs storage, chroot isolation, no docker.sock) for image builds.
package io.baton

class Pods implements Serializable {
  static final String CURL = '''\
    - name: curl
      image: curlimages/curl:8.11.1
      command: ["sleep"]
      args: ["infinity"]
      securityContext:
        runAsNonRoot: true
        allowPrivilegeEscalation: false
        capabilities:
          drop: ["ALL"]
      resources:
        requests: {cpu: 50m, memory: 64Mi}
        limits: {memory: 128Mi}
'''

  static final String BUILDAH = '''\
    - name: buildah
      image: quay.io/buildah/stable:v1.41
      command: ["sleep"]
      args: ["infinity"]
      env:
        - name: STORAGE_DRIVER
          value: vfs
        - name: BUILDAH_ISOLATION
          value: chroot
      securityContext:
        capabilities:
          add: ["SETUID", "SETGID"]
      volumeMounts:
        - name: containers
          mountPath: /var/lib/containers
      resources:
        requests: {cpu: 500m, memory: 1Gi}
        limits: {memory: 4Gi}
'''

  /** A pod with the curl container only. */
  static String curl() {
    return 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n' + CURL
  }

  /** A pod with buildah (default container of image builds) and curl. */
  static String buildah() {
    return 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n' + BUILDAH + CURL +
      '  volumes:\n    - name: containers\n      emptyDir: {}\n'
  }
}
