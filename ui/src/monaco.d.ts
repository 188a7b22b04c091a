declare module 'monaco-editor/esm/vs/basic-languages/python/python.contribution';
