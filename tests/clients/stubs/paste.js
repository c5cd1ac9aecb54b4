// SPDX-License-Identifier: Apache-2.0
/*
 * Stand-in for the Paste UI kit (@twilio-paste/core/..., its icons) in the
 * real-client test: each component renders a plain element with its
 * children, so the panel's own content (what it reads from the task) is
 * what the rendered HTML shows.  Layout props are dropped.
 */
import React from "react";

function box(tag) {
	return function PasteStub(props) {
		const keep = {};
		for (const k of ["disabled", "data-testid", "title"])
			if (props[k] !== undefined)
				keep[k] = props[k];
		return React.createElement(tag, keep, props.children);
	};
}

export const Box = box("div");
export const Flex = box("div");
export const Stack = box("div");
export const Heading = box("h4");
export const Text = box("span");
export const HelpText = box("small");
export const Button = box("button");
export const Tooltip = box("span");
export function InformationIcon(props) {
	return React.createElement("span", { title: props.title });
}
export default { Box, Flex, Stack, Heading, Text, HelpText, Button };
