// lib/json.ts
function parseExactJson(text) {
  return JSON.parse(text, (_key, value, context) => {
    if (typeof value === "number" && typeof context?.source === "string" && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}

export {
  parseExactJson
};
