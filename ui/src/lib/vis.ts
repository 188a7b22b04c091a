// vis.json specs: which functions to run and which table feeds each widget.
import type { VisFunc, VisSpec, VisWidget } from './api';
import type { ExecFunc, Table } from './query';

export function variableValues(vis: VisSpec | null, overrides: Record<string, string>) {
  const values: Record<string, string> = {};
  for (const variable of vis?.variables ?? []) {
    values[variable.name] = overrides[variable.name] ?? variable.defaultValue ?? '';
  }
  return values;
}

function funcArgs(func: VisFunc, values: Record<string, string>): Record<string, string> {
  const args: Record<string, string> = {};
  for (const arg of func.args ?? []) {
    args[arg.name] = arg.variable !== undefined ? (values[arg.variable] ?? '') : (arg.value ?? '');
  }
  return args;
}

export function widgetOutputName(widget: VisWidget, index: number): string {
  return widget.name || `widget_${index}`;
}

export function execFuncs(vis: VisSpec | null, values: Record<string, string>): ExecFunc[] {
  if (!vis) return [];
  const funcs: ExecFunc[] = [];
  for (const global of vis.globalFuncs ?? []) {
    funcs.push({
      funcName: global.func.name,
      args: funcArgs(global.func, values),
      outputTablePrefix: global.outputName,
    });
  }
  (vis.widgets ?? []).forEach((widget, index) => {
    if (!widget.func) return;
    funcs.push({
      funcName: widget.func.name,
      args: funcArgs(widget.func, values),
      outputTablePrefix: widgetOutputName(widget, index),
    });
  });
  return funcs;
}

export function tableForWidget(widget: VisWidget, index: number, tables: Table[]): Table | undefined {
  const wanted =
    widget.globalFuncOutputName ??
    widget.tableOutputName ??
    (widget.func ? widgetOutputName(widget, index) : undefined);
  if (wanted === undefined) return undefined;
  return (
    tables.find((t) => t.name === wanted) ??
    tables.find((t) => t.name.startsWith(`${wanted}[`) || t.name.startsWith(`${wanted}_`))
  );
}
