// esbuild bundles the stylesheets imported by the console's modules into one CSS file.
declare module '*.css';
