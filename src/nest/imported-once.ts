import type { DynamicModule, Type } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants.js';
import type { ModulesContainer } from '@nestjs/core';
import type { Module } from '@nestjs/core/injector/module.js';
import { IMPORTED_MORE_THAN_ONCE } from './resilience.messages';

/**
 * Fails the boot when the app holds more than one `moduleClass` (each `forRoot()` or
 * `forRootAsync()` call is a module of its own; one value imported in several places is one).
 * Two would bind the app's decorated methods in turn, the last one winning in silence, beside
 * a second registry, store and admin API that the app's other providers may inject instead.
 * @throws {Error} naming how many there are and the modules that import them.
 */
export function checkImportedOnce(modules: ModulesContainer, moduleClass: Type): void {
  const copies = [...modules.values()].filter((moduleRef) => moduleRef.metatype === moduleClass);
  if (copies.length < 2) return;
  throw new Error(IMPORTED_MORE_THAN_ONCE(copies.length, importersOf(modules, copies, moduleClass)));
}

/**
 * The modules importing any of `copies`: a global module is in every module's imports, so its
 * importers are the modules that declare it in `@Module({ imports })`.
 */
function importersOf(modules: ModulesContainer, copies: Module[], moduleClass: Type): string[] {
  const names = new Set<string>();
  for (const moduleRef of modules.values()) {
    if (moduleRef.metatype === moduleClass) continue;
    const imports = copies.some((copy) =>
      copy.isGlobal ? declares(moduleRef.metatype, moduleClass) : moduleRef.imports.has(copy),
    );
    if (imports) names.add(moduleRef.metatype.name);
  }
  return [...names].sort();
}

function declares(importer: Type, moduleClass: Type): boolean {
  const declared = (Reflect.getMetadata(MODULE_METADATA.IMPORTS, importer) ?? []) as unknown[];
  return declared.some(
    (entry) =>
      entry === moduleClass ||
      (typeof entry === 'object' && entry !== null && (entry as DynamicModule).module === moduleClass),
  );
}
