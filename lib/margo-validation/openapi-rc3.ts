/**
 * Component schemas of the Margo Workload Management API 1.0.0-rc.3 (OpenAPI 3.1, JSON Schema 2020-12),
 * as in the Margo workload-management-api-1.0.0-rc.3.openapi.yaml (copied to testdata/spec/) with `description` and `example`
 * members left out. A test checks them against the copy in testdata/spec/.
 * Only the schemas the request-body parsers use are here (capabilities and deployment status).
 */
export const RC3_SCHEMAS = {
  DeviceId: {
    type: 'string',
    pattern: '^[A-Za-z0-9._~-]+(\\/[A-Za-z0-9._~-]+)*$',
  },
  DeviceId_with_asterisk: {
    type: 'string',
    pattern: '^[A-Za-z0-9._~-]+(\\/[A-Za-z0-9._~-]+)*(\\/\\*)?$',
  },
  ManifestVersion: {
    type: 'number',
  },
  DevicePeripheral: {
    type: 'object',
    required: ['type'],
    properties: {
      type: {
        type: 'string',
        enum: ['gpu', 'display', 'camera', 'microphone', 'speaker'],
      },
      manufacturer: {
        type: 'string',
      },
      model: {
        type: 'string',
      },
    },
  },
  DeviceCommunicationInterface: {
    type: 'object',
    required: ['type'],
    properties: {
      type: {
        type: 'string',
        enum: ['ethernet', 'wifi', 'cellular', 'bluetooth', 'usb', 'canbus', 'rs232'],
      },
    },
  },
  DeviceCapabilitiesManifest: {
    type: 'object',
    required: ['properties'],
    patternProperties: {
      '^x-[a-z][a-z0-9-]*-extensions$': {
        type: 'object',
      },
    },
    additionalProperties: false,
    properties: {
      properties: {
        type: 'object',
        required: ['id', 'vendor', 'modelNumber', 'serialNumber'],
        properties: {
          id: {
            $ref: '#/components/schemas/DeviceId',
          },
          vendor: {
            type: 'string',
          },
          modelNumber: {
            type: 'string',
          },
          serialNumber: {
            type: 'string',
          },
          cpus: {
            type: 'array',
            items: {
              type: 'object',
              required: ['cores'],
              properties: {
                cores: {
                  type: 'number',
                },
                architecture: {
                  type: 'string',
                  enum: ['amd64', 'arm64', 'arm'],
                },
              },
            },
          },
          memory: {
            type: 'string',
          },
          storage: {
            type: 'string',
          },
          peripherals: {
            type: 'array',
            items: {
              $ref: '#/components/schemas/DevicePeripheral',
            },
          },
          interfaces: {
            type: 'array',
            items: {
              $ref: '#/components/schemas/DeviceCommunicationInterface',
            },
          },
          otelCollector: {
            type: 'boolean',
          },
          supportedRuntimes: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'string',
              enum: ['oci', 'custom'],
            },
          },
          supportedDeploymentTypes: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'string',
              enum: ['helm', 'compose', 'custom'],
            },
          },
        },
      },
      labels: {
        type: 'object',
        additionalProperties: {
          oneOf: [
            {
              type: 'string',
            },
            {
              type: 'number',
            },
            {
              type: 'boolean',
            },
            {
              type: 'array',
              items: {
                type: 'string',
              },
            },
            {
              type: 'array',
              items: {
                type: 'number',
              },
            },
          ],
        },
      },
    },
  },
  ComponentStatus: {
    type: 'object',
    required: ['name', 'state'],
    properties: {
      name: {
        type: 'string',
      },
      state: {
        type: 'string',
        enum: ['pending', 'installing', 'installed', 'failed', 'removing', 'removed'],
      },
      error: {
        type: 'object',
        properties: {
          code: {
            type: 'string',
          },
          source: {
            type: 'string',
          },
          message: {
            type: 'string',
          },
        },
      },
    },
  },
  DeploymentStatusManifest: {
    type: 'object',
    required: ['deploymentId', 'adoptedManifestVersion', 'status', 'components'],
    properties: {
      deploymentId: {
        type: 'string',
      },
      deviceId: {
        $ref: '#/components/schemas/DeviceId',
      },
      adoptedManifestVersion: {
        $ref: '#/components/schemas/ManifestVersion',
      },
      status: {
        type: 'object',
        required: ['state'],
        properties: {
          state: {
            type: 'string',
            enum: ['pending', 'installing', 'installed', 'failed', 'removing', 'removed'],
          },
          error: {
            type: 'object',
            properties: {
              code: {
                type: 'string',
              },
              source: {
                type: 'string',
              },
              message: {
                type: 'string',
              },
            },
          },
        },
      },
      components: {
        type: 'array',
        items: {
          $ref: '#/components/schemas/ComponentStatus',
        },
      },
    },
  },
} as const;
