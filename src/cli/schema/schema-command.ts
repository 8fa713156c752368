import { z } from 'zod';
import {
  integrationKinds,
  isIntegrationKind,
  kindDefinition,
  type IntegrationKind,
} from '../../adapters/registry.js';

export interface SchemaIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const usage = `Usage: atlas-jit-connector schema [<kind>]

Prints the JSON Schema (draft 2020-12) of each integration kind's config, with the description of
every field, and the job operations the kind supports. With <kind>, prints that kind only.
Kinds: ${integrationKinds.join(', ')}`;

/** The JSON Schema a control plane (or an operator) validates an integration's config against. */
export function integrationSchemas(kinds: readonly IntegrationKind[] = integrationKinds) {
  return Object.fromEntries(
    kinds.map((kind) => {
      const definition = kindDefinition(kind);
      return [
        kind,
        {
          operations: [...definition.operations],
          config: z.toJSONSchema(definition.configSchema, { io: 'input', unrepresentable: 'any' }),
        },
      ];
    }),
  );
}

export function runSchema(argv: readonly string[], io: SchemaIo): number {
  const [kind, ...extra] = argv;
  if (kind === '--help' || kind === '-h') {
    io.stdout(usage);
    return 0;
  }
  if (kind !== undefined && !isIntegrationKind(kind)) {
    io.stderr(`unknown integration kind "${kind}"\n\n${usage}`);
    return 2;
  }
  if (extra.length > 0) {
    io.stderr(`unexpected argument "${extra.join(' ')}": schema takes at most one kind\n\n${usage}`);
    return 2;
  }
  io.stdout(JSON.stringify(integrationSchemas(kind === undefined ? undefined : [kind]), null, 2));
  return 0;
}
